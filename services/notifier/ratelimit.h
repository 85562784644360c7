/*
 * ratelimit: how fast one channel may send, per recipient and in total, shared by the
 * worker threads of one process (Telegram: about one message per second to one chat and 30
 * per second for the bot). A delivery that would exceed it is not attempted but put back to
 * be due when its slot comes, so one busy chat never holds up the others.
 *
 * Limits are per process: replicas sharing one bot divide the global rate between them
 * (NOTIFY_TELEGRAM_GLOBAL_RATE).
 */
#ifndef NOTIFIER_RATELIMIT_H
#define NOTIFIER_RATELIMIT_H

#include <stdint.h>

struct ratelimit;

/* New limiter: at most per_key_per_s sends to one key and global_per_s overall (each > 0).
 * Caller frees. */
struct ratelimit *ratelimit_new(double per_key_per_s, double global_per_s);

void ratelimit_free(struct ratelimit *rl);

/*
 * Takes a send slot for `key` at now_ms: returns 0 when it may go now (the slot is taken), or
 * how many milliseconds until it may (nothing taken). Thread-safe.
 */
int64_t ratelimit_take(struct ratelimit *rl, const char *key, int64_t now_ms);

/* The remote asked to wait (Telegram 429 retry_after): nothing goes to `key` before until_ms. */
void ratelimit_block(struct ratelimit *rl, const char *key, int64_t until_ms);

#endif
