/*
 * arch/x86_64/uaccess.c - copying to and from user memory (see
 * arch/uaccess.h).
 *
 * Three layers of protection, in order:
 *  1. The range check: the whole range must lie below SD_USER_TOP.  Kernel
 *     and non-canonical pointers are refused before anything is touched -
 *     touching them is what a malicious pointer wants.
 *  2. SMAP: with CR4.SMAP on, the kernel cannot touch user pages unless
 *     RFLAGS.AC is set.  We set it (stac) for the copy instructions only,
 *     so a stray kernel access to user memory anywhere else still faults.
 *     Interrupts arriving inside the bracket clear AC for their handler and
 *     get it back on iretq (isr.asm).
 *  3. Faults: a user page that is missing or protected faults inside the
 *     copy.  The page-fault handler first asks the mm to resolve it
 *     (demand-zero, copy-on-write: exception.c, user_fault_from_kernel) and
 *     retries; if the mm says no, the exception table sends the copy to its
 *     fixup, which makes it return -SD_EFAULT.
 *
 * The copies are string instructions: rep movsq for the whole quadwords,
 * then rep movsb for the last 0..7 bytes (and a byte-at-a-time loop for
 * strings).  When one faults, RCX says how much is left, so the retried
 * instruction continues exactly where it stopped.  Quadwords rather than
 * bytes because an emulator runs a rep prefix one element per step: under
 * QEMU TCG a 64-byte IPC message copied byte by byte cost about as much as
 * a system call (a message is copied six times in an IPC round trip).
 */
#include <arch/uaccess.h>
#include <arch/x86/cpufeatures.h>
#include <arch/extable.h>
#include <kernel/debug/tlbcheck.h>
#include <kernel/pt_walk.h>
#include <uapi/shootdown.h>

static inline void user_access_begin(void)
{
    /* The shadow-TLB checker: no stale user translation may be used here.
     * (The test is inline: a call per copy is a tenth of a small copy.) */
    if (tlbcheck_on())
        tlbcheck_user_access();
    if (smap_enabled)
        __asm__ volatile("stac" ::: "memory");
}

static inline void user_access_end(void)
{
    if (smap_enabled)
        __asm__ volatile("clac" ::: "memory");
}

int user_range_ok(uintptr_t addr, size_t len)
{
    /* Written to avoid overflow: addr + len may wrap. */
    return addr <= SD_USER_TOP && len <= SD_USER_TOP - addr;
}

/* Copy len bytes; returns the number of bytes NOT copied (0 on success). */
static size_t copy_bytes(void *dst, const void *src, size_t len)
{
    size_t quads = len / 8, tail = len % 8;
    user_access_begin();
    __asm__ volatile("1: rep movsq\n"
                     "2:\n"
                     EXTABLE_ENTRY(1b, 2b)
                     : "+D"(dst), "+S"(src), "+c"(quads)
                     :
                     : "memory");
    if (quads == 0)
        __asm__ volatile("3: rep movsb\n"
                         "4:\n"
                         EXTABLE_ENTRY(3b, 4b)
                         : "+D"(dst), "+S"(src), "+c"(tail)
                         :
                         : "memory");
    user_access_end();
    return quads * 8 + tail;
}

/*
 * Copies of UACCESS_FAST_MIN bytes or more try the lockless fast path first
 * (kernel/mm/pt_walk.c: the frames found by walking the page tables without
 * mm->lock, copied through the direct map; kernel/pt_walk.h says why small
 * copies skip it), then copy what it left with the instructions above,
 * which fault and retry.  copy_bytes runs even when nothing is left: its
 * user_access_begin() is where the checker asserts that no stale
 * translation could be used, and the fast path must not hide a stale TLB
 * from it.
 */
int copy_from_user(void *dst, const void *user_src, size_t len)
{
    if (!user_range_ok((uintptr_t)user_src, len))
        return -SD_EFAULT;
    size_t done = len >= UACCESS_FAST_MIN ? uaccess_fast_copy(dst, (uintptr_t)user_src, len, false) : 0;
    return copy_bytes((char *)dst + done, (const char *)user_src + done, len - done) ? -SD_EFAULT : 0;
}

int copy_to_user(void *user_dst, const void *src, size_t len)
{
    if (!user_range_ok((uintptr_t)user_dst, len))
        return -SD_EFAULT;
    size_t done = len >= UACCESS_FAST_MIN ? uaccess_fast_copy((void *)src, (uintptr_t)user_dst, len, true) : 0;
    return copy_bytes((char *)user_dst + done, (const char *)src + done, len - done) ? -SD_EFAULT : 0;
}

/* One user byte into *out; false if it faulted. */
static inline bool get_user_byte(const char *p, char *out)
{
    int failed = 0;
    char c;
    __asm__ volatile(EXTABLE_TRY_LOAD("movb (%[p]), %[val]")
                     : [val] "=q"(c), [failed] "+r"(failed)
                     : [p] "r"(p)
                     : "memory");
    *out = c;
    return !failed;
}

long strncpy_from_user(char *dst, const char *user_src, size_t max)
{
    uintptr_t src = (uintptr_t)user_src;
    if (max == 0)
        return -SD_ENAMETOOLONG;
    /* Check as we go: the string may end well before the end of a range
     * that would run past SD_USER_TOP. */
    user_access_begin();
    for (size_t i = 0; i < max; i++) {
        char c;
        if (src + i >= SD_USER_TOP || !get_user_byte((const char *)(src + i), &c)) {
            user_access_end();
            return -SD_EFAULT;
        }
        dst[i] = c;
        if (c == '\0') {
            user_access_end();
            return (long)i;
        }
    }
    user_access_end();
    dst[max - 1] = '\0';
    return -SD_ENAMETOOLONG;
}
