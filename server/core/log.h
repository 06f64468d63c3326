/*
 * log.h - the server's log lines on stderr: "akavs[LEVEL] text". One
 * process-wide threshold set at startup from the config (log-level); the
 * functions are thread-safe (one fprintf per line). Callers never pass
 * K, OPc, CK, IK or XRES (DESIGN.md): log identities and error codes only.
 */
#ifndef AKV_SERVER_CORE_LOG_H
#define AKV_SERVER_CORE_LOG_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Same values as enum akv_cfg_log (cfg.h). */
enum akv_log_level {
	AKV_LOG_ERR = 0,
	AKV_LOG_WARN = 1,
	AKV_LOG_INFO = 2,
	AKV_LOG_DEBUG = 3,
};

/* Sets the most verbose level printed (default AKV_LOG_INFO). Call before
 * starting threads. */
void akv_log_set_level(int level);
/* Nonzero when `level` would be printed (to skip building costly messages). */
int akv_log_on(int level);
/* Prints one line (a trailing newline is added). */
void akv_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void akv_vlog(int level, const char *fmt, va_list ap);

/* A broken invariant (a bug, never hostile input): logs FILE:LINE and the
 * expression, then aborts. Stays on in release builds (STYLE 2.4). */
_Noreturn void akv_assert_fail(const char *file, int line, const char *expr);
#ifndef AKV_ASSERT
#define AKV_ASSERT(x)                                                                              \
	do {                                                                                       \
		if (!(x))                                                                          \
			akv_assert_fail(__FILE__, __LINE__, #x);                                   \
	} while (0)
#endif

#ifdef __cplusplus
}
#endif
#endif
