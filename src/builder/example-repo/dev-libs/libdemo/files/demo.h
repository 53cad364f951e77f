#ifndef DEMO_H
#define DEMO_H
#define DEMO_ABI 1
/* Writes a greeting for `who` into a static buffer and returns it. */
const char *demo_greeting(const char *who);
int demo_abi(void);
#endif
