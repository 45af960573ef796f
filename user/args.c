/*
 * args: checks the argument vector the spawner built.
 *
 *   args N arg2 arg3 ... arg<N-1>
 *
 * argv[1] is the expected argc (decimal) and argv[k] for k >= 2 must read
 * "arg<k>" followed by k dots (so arguments have different lengths).  Also
 * checks argv[argc] == NULL and that the strings lie in the stack.
 */
#include <ulib.h>

int main(int argc, char **argv)
{
    prog_name = "args";
    if (argc < 2)
        die("argc = %d, want at least 2", argc);
    if (argv[argc] != NULL)
        die("argv[argc] = %p, want NULL", (void *)argv[argc]);
    if (strcmp(argv[0], "args") != 0)
        die("argv[0] = \"%s\", want \"args\"", argv[0]);
    long want = atol(argv[1]);
    if (want != argc)
        die("argc = %d, argv[1] says %ld", argc, want);
    for (int k = 2; k < argc; k++) {
        char expect[SD_ARG_LEN_MAX];
        int n = snprintf(expect, sizeof(expect), "arg%d", k);
        for (int d = 0; d < k && n < (int)sizeof(expect) - 1; d++)
            expect[n++] = '.';
        expect[n] = '\0';
        if (strcmp(argv[k], expect) != 0)
            die("argv[%d] = \"%s\", want \"%s\"", k, argv[k], expect);
    }
    for (int k = 0; k < argc; k++) {
        uintptr_t p = (uintptr_t)argv[k];
        if (p >= SD_USER_STACK_TOP || p < SD_USER_STACK_TOP - SD_USER_STACK_SIZE)
            die("argv[%d] at %p is not in the stack", k, (void *)argv[k]);
    }
    printf("args: %d arguments ok\n", argc);
    return 0;
}
