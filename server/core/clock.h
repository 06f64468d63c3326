/*
 * clock.h - monotonic time for timeouts, polls and rates (never wall time:
 * CLOCK_MONOTONIC does not jump when the system clock is set).
 */
#ifndef AKV_CLOCK_H
#define AKV_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
akv_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t
akv_mono_ms(void)
{
	return akv_mono_ns() / 1000000;
}

#endif
