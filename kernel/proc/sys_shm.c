/*
 * kernel/proc/sys_shm.c - named shared memory: shm_create, shm_map,
 * shm_unlink (docs/syscalls.md, "Shared memory").
 *
 * Unrelated processes (no fork between them) meet through a name, as they
 * meet through an IPC endpoint's name: one creates an object of a size,
 * any process maps all of it by name, and the name stays until shm_unlink
 * (like POSIX shm_open/shm_unlink, not tied to the creator's life).  The
 * table's reference keeps a named object alive with no mapping; after
 * unlink the object lives on while mappings (or futex waiters) hold it,
 * and a new object may take the name.
 */
#include "process_internal.h"
#include <kernel/mm.h>
#include <kernel/shm.h>
#include <kernel/syscall.h>
#include <arch/uaccess.h>
#include <lib/string.h>

#define SHM_NAMES_MAX 64

/* A mutex: the table's users sleep anyway (page faults in copy_name). */
static struct mutex names_lock = {
    .lock = SPINLOCK_INIT("shm.names", LOCK_RANK_SLEEP),
    .waiters = LIST_HEAD_INIT(names_lock.waiters),
    .name = "shm.names",
};
static struct list_head names = LIST_HEAD_INIT(names);
static unsigned nnames;

/* Under names_lock. */
static struct shm *lookup(const char *name)
{
    struct list_head *p;
    list_for_each(p, &names) {
        struct shm *s = list_entry(p, struct shm, name_link);
        if (strcmp(s->name, name) == 0)
            return s;
    }
    return NULL;
}

static long copy_name(char *name, uint64_t uname)
{
    long n = strncpy_from_user(name, (const char *)uname, SD_NAME_MAX);
    if (n == 0)
        return -SD_EINVAL;
    return n < 0 ? n : 0;
}

/* shm_create(name, len): a new zero-filled object of len bytes (rounded up
 * to pages) under a name not in use. */
static long sys_shm_create(const struct syscall_args *a)
{
    char name[SD_NAME_MAX];
    long r = copy_name(name, a->a[0]);
    if (r)
        return r;
    uint64_t len = a->a[1];
    if (len == 0 || len > SD_SHM_MAX)
        return -SD_EINVAL;
    struct shm *s = shm_create(ALIGN_UP(len, PAGE_SIZE) / PAGE_SIZE);
    if (!s)
        return -SD_ENOMEM;
    memcpy(s->name, name, sizeof(name));
    mutex_lock(&names_lock);
    if (lookup(name))
        r = -SD_EEXIST;
    else if (nnames == SHM_NAMES_MAX)
        r = -SD_ENOMEM;
    if (r == 0) {
        list_add_tail(&s->name_link, &names);   /* the table keeps our reference */
        nnames++;
    }
    mutex_unlock(&names_lock);
    if (r)
        shm_put(s);
    return r;
}
DEFINE_SYSCALL(SYS_shm_create, sys_shm_create);

/* shm_map(name, prot): map the whole object at a free address. */
static long sys_shm_map(const struct syscall_args *a)
{
    char name[SD_NAME_MAX];
    long r = copy_name(name, a->a[0]);
    if (r)
        return r;
    uint64_t prot = a->a[1];
    if (prot & ~(uint64_t)(SD_PROT_READ | SD_PROT_WRITE | SD_PROT_EXEC))
        return -SD_EINVAL;
    mutex_lock(&names_lock);
    struct shm *s = lookup(name);
    if (s)
        shm_get(s);
    mutex_unlock(&names_lock);
    if (!s)
        return -SD_ENOENT;
    r = map_anywhere(current_task()->mm, 0, s->npages * PAGE_SIZE, (unsigned)prot, s);
    shm_put(s);
    return r;
}
DEFINE_SYSCALL(SYS_shm_map, sys_shm_map);

/* shm_unlink(name): the name goes at once; the object when nothing maps it. */
static long sys_shm_unlink(const struct syscall_args *a)
{
    char name[SD_NAME_MAX];
    long r = copy_name(name, a->a[0]);
    if (r)
        return r;
    mutex_lock(&names_lock);
    struct shm *s = lookup(name);
    if (s) {
        list_del(&s->name_link);
        list_init(&s->name_link);
        nnames--;
    }
    mutex_unlock(&names_lock);
    if (!s)
        return -SD_ENOENT;
    shm_put(s);         /* the table's reference */
    return 0;
}
DEFINE_SYSCALL(SYS_shm_unlink, sys_shm_unlink);
