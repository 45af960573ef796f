/* hello: the first words from ring 3. */
#include <ulib.h>

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    puts("hello from ring 3");
    return 0;
}
