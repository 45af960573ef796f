/*
 * showargs: prints what it was started with, one line each, so that a test
 * (or a student) sees exactly what reached the program:
 *
 *   showargs: argc 3
 *   showargs: argv[1] "one"
 *   showargs: env[0] "HOME=/"
 *   showargs: getenv(NAME) "VALUE"     for each NAME given after "getenv"
 *
 * `showargs getenv A B` looks up A and B with getenv().  Exits with the
 * number of environment strings, so a test can check it through the exit
 * status too.
 */
#include <ulib.h>

int main(int argc, char **argv)
{
    int envc = 0;
    printf("showargs: argc %d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("showargs: argv[%d] \"%s\"\n", i, argv[i]);
    for (char **e = environ; *e; e++, envc++)
        printf("showargs: env[%d] \"%s\"\n", envc, *e);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "getenv") != 0)
            continue;
        for (int j = i + 1; j < argc; j++) {
            const char *v = getenv(argv[j]);
            if (v)
                printf("showargs: getenv(%s) \"%s\"\n", argv[j], v);
            else
                printf("showargs: getenv(%s) NULL\n", argv[j]);
        }
        break;
    }
    return envc;
}
