#include <stdio.h>
#include <demo.h>

int main(int argc, char **argv) {
#ifdef HELLO_DEBUG
	fprintf(stderr, "debug: libdemo ABI %d\n", demo_abi());
#endif
#ifdef HELLO_NLS
	puts("nls: enabled");
#endif
	puts(demo_greeting(argc > 1 ? argv[1] : "world"));
	return 0;
}
