/*
 * kernel/weak_defaults_for_merge.c - lets branch "proc" link before the
 * "mm" and "uentry" branches are merged.  Every definition is weak: the real
 * ones override them.  THE LEAD DELETES THIS FILE AT MERGE.
 */
#include <kernel/mm.h>
#include <kernel/panic.h>
#include <arch/user.h>
#include <arch/uaccess.h>
#include <uapi/shootdown.h>

__attribute__((weak)) struct mm *mm_create(void) { return NULL; }
__attribute__((weak)) void mmget(struct mm *mm) { atomic_fetch_add(&mm->mm_users, 1); }
__attribute__((weak)) void mmput(struct mm *mm) { atomic_fetch_sub(&mm->mm_users, 1); }
__attribute__((weak)) int mm_map_anon(struct mm *mm, uintptr_t a, size_t l, unsigned p)
{ (void)mm; (void)a; (void)l; (void)p; return -SD_ENOMEM; }
__attribute__((weak)) uintptr_t mm_find_free(struct mm *mm, uintptr_t h, size_t l)
{ (void)mm; (void)h; (void)l; return 0; }
__attribute__((weak)) int mm_unmap(struct mm *mm, uintptr_t a, size_t l)
{ (void)mm; (void)a; (void)l; return -SD_EINVAL; }
__attribute__((weak)) int mm_protect(struct mm *mm, uintptr_t a, size_t l, unsigned p)
{ (void)mm; (void)a; (void)l; (void)p; return -SD_EINVAL; }
__attribute__((weak)) int mm_write(struct mm *mm, uintptr_t a, const void *s, size_t l)
{ (void)mm; (void)a; (void)s; (void)l; return -SD_ENOMEM; }
__attribute__((weak)) unsigned mm_live_count(void) { return 0; }
__attribute__((weak)) struct mm *mm_fork(struct mm *p) { (void)p; return NULL; }

__attribute__((weak)) __noreturn void arch_enter_user(uintptr_t rip, uintptr_t rsp, uint64_t arg)
{ (void)rip; (void)rsp; (void)arg; panic("arch_enter_user: not merged yet"); }
__attribute__((weak)) __noreturn void arch_return_to_user(const struct trap_frame *tf)
{ (void)tf; panic("arch_return_to_user: not merged yet"); }
__attribute__((weak)) struct trap_frame *current_user_frame(void) { panic("current_user_frame: not merged yet"); }
__attribute__((weak)) void arch_fpu_save_current(void) { }

__attribute__((weak)) int copy_from_user(void *d, const void *s, size_t l) { (void)d; (void)s; (void)l; return -SD_EFAULT; }
__attribute__((weak)) int copy_to_user(void *d, const void *s, size_t l) { (void)d; (void)s; (void)l; return -SD_EFAULT; }
__attribute__((weak)) long strncpy_from_user(char *d, const char *s, size_t m) { (void)d; (void)s; (void)m; return -SD_EFAULT; }
__attribute__((weak)) int user_range_ok(uintptr_t a, size_t l) { (void)a; (void)l; return 0; }
