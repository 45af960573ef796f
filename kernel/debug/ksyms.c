/* kernel/debug/ksyms.c - address -> function name, by binary search in the table
 * tools/gen-ksyms.sh generated.  A function is taken to end where the next
 * symbol starts; addresses outside .text have no name. */
#include <kernel/debug/ksyms.h>
#include <kernel/compiler.h>
#include <kernel/sections.h>

const char *ksym_lookup(uintptr_t addr, uintptr_t *offset)
{
    if (addr < (uintptr_t)__text_start || addr >= (uintptr_t)__text_end || ksyms_count == 0)
        return NULL;
    unsigned long lo = 0, hi = ksyms_count;     /* find the last entry <= addr */
    while (hi - lo > 1) {
        unsigned long mid = lo + (hi - lo) / 2;
        if (ksyms_table[mid].addr <= addr)
            lo = mid;
        else
            hi = mid;
    }
    if (ksyms_table[lo].addr > addr)
        return NULL;
    *offset = addr - ksyms_table[lo].addr;
    return ksyms_table[lo].name;
}
