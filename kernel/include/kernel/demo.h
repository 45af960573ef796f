/* kernel/demo.h - what `make run` shows when no tests are asked for. */
#pragma once
void demo_start(void);
