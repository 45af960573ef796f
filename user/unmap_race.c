/*
 * unmap_race: munmap a page while a thread on another CPU keeps touching it
 * (see race.h).  `unmap_race read` touches by reading, otherwise writing.
 * Expected end: killed by a page fault.
 */
#include "race.h"

static int do_unmap(void *page)
{
    return sys_munmap(page, 4096);
}

int main(int argc, char **argv)
{
    prog_name = "unmap_race";
    race_main(do_unmap, !(argc > 1 && strcmp(argv[1], "read") == 0));
}
