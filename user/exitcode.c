/*
 * exitcode: exits with the code given as argv[1] (0 without one).  With a
 * second argument "thread" the code is returned by the last thread's
 * thread_exit instead of exit (the process ends with its last thread).
 */
#include <ulib.h>

int main(int argc, char **argv)
{
    int code = argc > 1 ? (int)atol(argv[1]) : 0;
    if (argc > 2 && strcmp(argv[2], "thread") == 0)
        sys_thread_exit(code);
    return code;
}
