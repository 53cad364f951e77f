#include <stdio.h>
#include "demo.h"

static char buf[256];

const char *demo_greeting(const char *who) {
	snprintf(buf, sizeof buf, "Hello, %s! (libdemo ABI %d)", who ? who : "world", DEMO_ABI);
	return buf;
}

int demo_abi(void) { return DEMO_ABI; }
