/*
 * kernel/proc/sys_write.c - write(buf, len): user bytes to the console.
 *
 * Copied in chunks through a small kernel buffer (user memory is never read
 * directly), written without printk's line prefix so a program's output
 * reads like a terminal's.  Control characters other than newline and tab
 * become '?': a program must not be able to forge test-runner lines with
 * carriage returns or escape sequences.
 */
#include "process_internal.h"
#include <kernel/syscall.h>
#include <kernel/printk.h>
#include <arch/uaccess.h>

#define WRITE_CHUNK 256
#define WRITE_MAX   (1u << 20)      /* one call writes at most this much */

static long sys_write(const struct syscall_args *a)
{
    const char *ubuf = (const char *)a->a[0];
    size_t len = a->a[1];
    if (len == 0)
        return 0;
    if (!user_range_ok((uintptr_t)ubuf, len))
        return -SD_EFAULT;
    if (len > WRITE_MAX)
        len = WRITE_MAX;

    char chunk[WRITE_CHUNK];
    size_t done = 0;
    while (done < len) {
        size_t n = len - done < WRITE_CHUNK ? len - done : WRITE_CHUNK;
        if (copy_from_user(chunk, ubuf + done, n))
            return done ? (long)done : -SD_EFAULT;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)chunk[i];
            if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
                chunk[i] = '?';
        }
        printk_raw("%.*s", (int)n, chunk);
        done += n;
    }
    return (long)done;
}
DEFINE_SYSCALL(SYS_write, sys_write);
