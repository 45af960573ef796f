/* hello: the first words from ring 3 - and where they were said. */
#include <ulib.h>

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("hello from ring 3: pid %ld, thread %ld, on cpu %ld of %ld\n", (long)sys_getpid(),
           (long)sys_gettid(), (long)sys_getcpu(), (long)sys_cpu_count());
    return 0;
}
