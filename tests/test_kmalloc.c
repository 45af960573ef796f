/*
 * tests/test_kmalloc.c - the kernel heap: size classes, large blocks, object
 * caches with alignment, poisoning and the detection of bad frees; new
 * slabs and large blocks keep no word of their frame's last owner.
 *
 * The detections panic in kfree(); the tests call the checks behind the
 * panics (kmem_free_check, kmem_poison_check) directly, on objects kept in a
 * live slab so the pointers stay meaningful.
 */
#include "ktest_suite.h"
#include <kernel/kmalloc.h>
#include <kernel/page_alloc.h>
#include <lib/format.h>
#include <lib/string.h>

static void test_sizes_and_accounting(struct ktest *t)
{
    static const size_t sizes[] = { 0, 1, 15, 16, 17, 33, 64, 65, 96, 100, 128, 200, 256, 300,
                                    512, 1000, 1024, 2047, 2048, 2049, 4096, 5000, 65536, 1 << 20 };
    for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
        size_t before = kmalloc_bytes_in_use();
        unsigned char *p = kmalloc(sizes[i]);
        ASSERT_TRUE(t, p != NULL);
        EXPECT_EQ(t, (uintptr_t)p % KMALLOC_MIN_ALIGN, 0u);
        size_t usable = ksize(p);
        EXPECT_GE(t, usable, sizes[i]);
        EXPECT_EQ(t, kmalloc_bytes_in_use(), before + usable);
        if (sizes[i] > KMALLOC_MAX_CLASS)
            EXPECT_EQ(t, (uintptr_t)p % PAGE_SIZE, 0u);
        memset(p, 0x5a, usable);
        EXPECT_EQ(t, p[usable - 1], 0x5a);
        kfree(p);
        EXPECT_EQ(t, kmalloc_bytes_in_use(), before);
    }
    kfree(NULL);
    /* Beyond the largest buddy block. */
    EXPECT_TRUE(t, kmalloc((PAGE_SIZE << PAGE_ORDER_MAX) + 1) == NULL);
}

static void test_kzalloc(struct ktest *t)
{
    for (size_t size = 16; size <= 8192; size *= 2) {
        unsigned char *p = kmalloc(size);
        ASSERT_TRUE(t, p != NULL);
        memset(p, 0xff, size);
        kfree(p);
        p = kzalloc(size);
        ASSERT_TRUE(t, p != NULL);
        size_t nonzero = 0;
        for (size_t i = 0; i < size; i++)
            nonzero += p[i] != 0;
        EXPECT_EQ(t, nonzero, 0u);
        kfree(p);
    }
}

/* Many live objects of every class: distinct, intact, and when all are
 * freed the slabs go back to the page allocator (the leak check sees it). */
static void test_many_objects(struct ktest *t)
{
    enum { N = 600 };
    static void *objs[N];
    size_t frames = page_free_frames();
    for (unsigned i = 0; i < N; i++) {
        size_t size = 8 + (i * 37) % 2040;
        objs[i] = kmalloc(size);
        ASSERT_TRUE(t, objs[i] != NULL);
        memset(objs[i], (int)(i & 0xff), size);
        *(unsigned *)objs[i] = i;
    }
    for (unsigned i = 0; i < N; i++)
        EXPECT_EQ(t, *(unsigned *)objs[i], i);
    EXPECT_LT(t, page_free_frames(), frames);
    for (unsigned i = 0; i < N; i += 2)
        kfree(objs[i]);
    for (unsigned i = 1; i < N; i += 2)
        kfree(objs[i]);
    EXPECT_EQ(t, page_free_frames(), frames);
}

static void test_cache_alignment(struct ktest *t)
{
    static const struct { size_t size, align; } shapes[] = {
        { 8, 0 }, { 24, 8 }, { 40, 64 }, { 100, 128 }, { 200, 256 }, { 64, 4096 }, { 3000, 16 }, { 12000, 64 },
    };
    for (unsigned s = 0; s < ARRAY_SIZE(shapes); s++) {
        struct kmem_cache *c = kmem_cache_create("test_align", shapes[s].size, shapes[s].align);
        ASSERT_TRUE(t, c != NULL);
        size_t align = shapes[s].align ? shapes[s].align : KMALLOC_MIN_ALIGN;
        void *objs[20];
        for (unsigned i = 0; i < ARRAY_SIZE(objs); i++) {
            objs[i] = kmem_cache_alloc(c);
            ASSERT_TRUE(t, objs[i] != NULL);
            if ((uintptr_t)objs[i] % align)
                ktest_fail_at(t, __FILE__, __LINE__, "object %p of size %zu not aligned to %zu",
                              objs[i], shapes[s].size, align);
            memset(objs[i], 0x11 * (int)i, shapes[s].size);
        }
        EXPECT_EQ(t, kmem_cache_objects_in_use(c), ARRAY_SIZE(objs));
        for (unsigned i = 0; i < ARRAY_SIZE(objs); i++)
            kmem_cache_free(c, objs[i]);
        EXPECT_EQ(t, kmem_cache_objects_in_use(c), 0u);
        kmem_cache_destroy(c);
    }
    /* Impossible shapes are refused. */
    EXPECT_TRUE(t, kmem_cache_create("bad", 64, 48) == NULL);
    EXPECT_TRUE(t, kmem_cache_create("bad", 64, 2 * PAGE_SIZE) == NULL);
    EXPECT_TRUE(t, kmem_cache_create("bad", 1 << 20, 0) == NULL);
    EXPECT_TRUE(t, kmem_cache_create("bad", 0, 0) == NULL);
}

static void test_cache_zalloc_and_accounting(struct ktest *t)
{
    struct kmem_cache *c = kmem_cache_create("test_zalloc", 72, 8);
    ASSERT_TRUE(t, c != NULL);
    size_t before = kmalloc_bytes_in_use();
    unsigned char *p = kmem_cache_zalloc(c);
    ASSERT_TRUE(t, p != NULL);
    EXPECT_GT(t, kmalloc_bytes_in_use(), before);
    for (unsigned i = 0; i < 72; i++)
        EXPECT_EQ(t, p[i], 0);
    kmem_cache_free(c, p);
    EXPECT_EQ(t, kmalloc_bytes_in_use(), before);
    kmem_cache_destroy(c);
}

/* A write into a freed object is found when the poison is checked. */
static void test_poison(struct ktest *t)
{
    struct kmem_cache *c = kmem_cache_create("test_poison", 64, 16);
    ASSERT_TRUE(t, c != NULL);
    unsigned char *keep = kmem_cache_alloc(c);      /* keeps the slab alive */
    unsigned char *p = kmem_cache_alloc(c);
    ASSERT_TRUE(t, keep && p);
    memset(p, 0, 64);
    kmem_cache_free(c, p);

    size_t poisoned = 0;
    for (unsigned i = sizeof(void *); i < 64; i++)
        poisoned += p[i] == KMEM_POISON_FREE;
    EXPECT_EQ(t, poisoned, 64 - sizeof(void *));
    char buf[200];
    EXPECT_TRUE(t, kmem_poison_check(p, buf, sizeof(buf)) == NULL);

    /* A use after free at the first poisoned byte, in the middle and at
     * the last byte: each found, and the report names its offset (the
     * check compares words, then looks for the byte). */
    static const unsigned offsets[] = { sizeof(void *), 40, 63 };
    for (unsigned k = 0; k < ARRAY_SIZE(offsets); k++) {
        char want[24];
        snprintf(want, sizeof(want), "offset %u ", offsets[k]);
        p[offsets[k]] = 0x42;                       /* use after free */
        const char *err = kmem_poison_check(p, buf, sizeof(buf));
        EXPECT_TRUE(t, err != NULL && strstr(err, want) != NULL);
        if (err)
            ktest_log("reported as: %s", err);
        p[offsets[k]] = KMEM_POISON_FREE;           /* repair before reuse */
    }

    void *saved = *(void **)p;
    *(void **)p = (void *)0xdeadbeef;               /* damage the free-list link */
    EXPECT_TRUE(t, kmem_poison_check(p, buf, sizeof(buf)) != NULL);
    *(void **)p = saved;

    EXPECT_TRUE(t, kmem_poison_check(p, buf, sizeof(buf)) == NULL);
    EXPECT_TRUE(t, kmem_poison_check(keep, buf, sizeof(buf)) != NULL);  /* allocated, not free */
    kmem_cache_free(c, keep);
    kmem_cache_destroy(c);
}

static void test_bad_frees_detected(struct ktest *t)
{
    struct kmem_cache *c = kmem_cache_create("test_free", 48, 16);
    struct kmem_cache *other = kmem_cache_create("test_other", 48, 16);
    ASSERT_TRUE(t, c && other);
    char *keep = kmem_cache_alloc(c);
    char *p = kmem_cache_alloc(c);
    char *big = kmalloc(3 * PAGE_SIZE);
    ASSERT_TRUE(t, keep && p && big);
    int on_stack;
    static int in_data;
    phys_addr_t page = page_alloc(0);
    ASSERT_NE(t, page, 0u);

    EXPECT_TRUE(t, kmem_free_check(c, p) == NULL);
    EXPECT_TRUE(t, kmem_free_check(NULL, p) == NULL);
    EXPECT_TRUE(t, kmem_free_check(NULL, big) == NULL);
    const char *err;
    EXPECT_TRUE(t, (err = kmem_free_check(other, p)) != NULL);           /* wrong cache */
    EXPECT_TRUE(t, (err = kmem_free_check(c, p + 8)) != NULL);           /* inside an object */
    EXPECT_TRUE(t, (err = kmem_free_check(NULL, big + 16)) != NULL);     /* inside a large block */
    EXPECT_TRUE(t, (err = kmem_free_check(NULL, &on_stack)) != NULL);    /* not from the heap */
    EXPECT_TRUE(t, (err = kmem_free_check(NULL, &in_data)) != NULL);
    EXPECT_TRUE(t, (err = kmem_free_check(NULL, phys_to_virt(page))) != NULL);
    if (err)
        ktest_log("a plain page: %s", err);
    kmem_cache_free(c, p);
    err = kmem_free_check(c, p);                                         /* double free */
    EXPECT_TRUE(t, err != NULL);
    if (err)
        ktest_log("after a free: %s", err);
    kfree(big);
    page_free(page, 0);
    kmem_cache_free(c, keep);
    kmem_cache_destroy(c);
    kmem_cache_destroy(other);
}

static void test_objects_reused(struct ktest *t)
{
    struct kmem_cache *c = kmem_cache_create("test_reuse", 128, 0);
    ASSERT_TRUE(t, c != NULL);
    void *keep = kmem_cache_alloc(c);
    void *a = kmem_cache_alloc(c);
    kmem_cache_free(c, a);
    void *b = kmem_cache_alloc(c);
    EXPECT_EQ(t, (uintptr_t)a, (uintptr_t)b);       /* LIFO free list */
    kmem_cache_free(c, b);
    kmem_cache_free(c, keep);
    kmem_cache_destroy(c);
}

/*
 * No word of a frame's last owner survives in a new slab or a large block:
 * a slab's header, the gap after it and the tail past its last object are
 * zeroed, its objects poisoned; a large block is zeroed.  (Under QEMU TCG,
 * old code left in a page slowed every store to it: docs/memory.md, "Frames
 * that held code".)  The buddy allocator hands out the frame freed last
 * first, so the new slab or block starts on the frame just filled with
 * MARK - unless another CPU allocated in between, hence a few tries.
 */
#define MARK 0xccccccccccccccccull

static unsigned marked_words(const void *p, size_t bytes)
{
    unsigned n = 0;
    for (const uint64_t *w = p; w < (const uint64_t *)((const char *)p + bytes); w++)
        if (*w == MARK)
            n++;
    return n;
}

static phys_addr_t marked_frame_freed(void)
{
    phys_addr_t pa = page_alloc(0);
    if (pa) {
        memset(phys_to_virt(pa), 0xcc, PAGE_SIZE);
        page_free(pa, 0);
    }
    return pa;
}

static void test_new_memory_overwrites_frame(struct ktest *t)
{
    unsigned slab_reused = 0, large_reused = 0, left = 0;
    for (unsigned try = 0; try < 8 && !(slab_reused && large_reused); try++) {
        /* 256-byte objects at 64-byte alignment: a gap after the header
         * and a tail after the 15th object. */
        struct kmem_cache *c = kmem_cache_create("test_fresh", 200, 64);
        ASSERT_TRUE(t, c != NULL);
        phys_addr_t dirty = marked_frame_freed();
        ASSERT_NE(t, dirty, 0u);
        void *obj = kmem_cache_alloc(c);
        ASSERT_TRUE(t, obj != NULL);
        if (ALIGN_DOWN(virt_to_phys(obj), PAGE_SIZE) == dirty) {
            slab_reused++;
            left += marked_words(phys_to_virt(dirty), PAGE_SIZE);
        }
        kmem_cache_free(c, obj);
        kmem_cache_destroy(c);

        dirty = marked_frame_freed();
        ASSERT_NE(t, dirty, 0u);
        void *big = kmalloc(PAGE_SIZE);
        ASSERT_TRUE(t, big != NULL);
        if (virt_to_phys(big) == dirty) {
            large_reused++;
            left += marked_words(big, PAGE_SIZE);
        }
        kfree(big);
    }
    EXPECT_GE(t, slab_reused, 1u);
    EXPECT_GE(t, large_reused, 1u);
    EXPECT_EQ(t, left, 0u);
}

static void test_print_stats(struct ktest *t)
{
    (void)t;
    kmalloc_print_stats();
}

static const struct ktest_case kmalloc_cases[] = {
    KTEST_CASE(test_sizes_and_accounting),
    KTEST_CASE(test_kzalloc),
    KTEST_CASE(test_many_objects),
    KTEST_CASE(test_cache_alignment),
    KTEST_CASE(test_cache_zalloc_and_accounting),
    KTEST_CASE(test_poison),
    KTEST_CASE(test_bad_frees_detected),
    KTEST_CASE(test_objects_reused),
    KTEST_CASE(test_new_memory_overwrites_frame),
    KTEST_CASE(test_print_stats),
    {0},
};
KTEST_SUITE(kmalloc, kmalloc_cases);
