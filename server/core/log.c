/* log.c - leveled log lines on stderr (see log.h). */
#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* The threshold is written once at startup and read by every thread. */
static _Atomic int log_level = AKV_LOG_INFO;

/* see log.h */
void
akv_log_set_level(int level)
{
	atomic_store_explicit(&log_level, level, memory_order_relaxed);
}

/* see log.h */
int
akv_log_on(int level)
{
	return level <= atomic_load_explicit(&log_level, memory_order_relaxed);
}

/* see log.h */
void
akv_vlog(int level, const char *fmt, va_list ap)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	char line[1024];
	struct timespec ts;
	struct tm tm;
	int n;

	if (!akv_log_on(level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld akavs[%s] ", tm.tm_hour, tm.tm_min,
		     tm.tm_sec, ts.tv_nsec / 1000000,
		     names[level < 0   ? 0
			   : level > 3 ? 3
				       : level]);
	if (n > 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	/* one call per line so lines of concurrent threads never interleave */
	fprintf(stderr, "%s\n", line);
}

/* see log.h */
void
akv_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	akv_vlog(level, fmt, ap);
	va_end(ap);
}

/* see log.h */
void
akv_assert_fail(const char *file, int line, const char *expr)
{
	akv_log(AKV_LOG_ERR, "%s:%d: assertion failed: %s", file, line, expr);
	abort();
}
