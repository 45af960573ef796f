/*
 * mprotect_race: make a page read-only (or inaccessible, with argument
 * "none") while a thread on another CPU keeps writing to it (see race.h).
 * Expected end: killed by a page fault.
 */
#include "race.h"

static int none;

static int do_protect(void *page)
{
    return sys_mprotect(page, 4096, none ? SD_PROT_NONE : SD_PROT_READ);
}

int main(int argc, char **argv)
{
    prog_name = "mprotect_race";
    none = argc > 1 && strcmp(argv[1], "none") == 0;
    race_main(do_protect, 1);
}
