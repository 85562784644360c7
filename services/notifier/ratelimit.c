/*
 * ratelimit: per-key spacing plus a global sliding window (see ratelimit.h). Keys live in a
 * small table of the time each may next send; entries in the past are dropped when the table
 * grows, so it holds only recently active chats.
 */
#include "ratelimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define PRUNE_AT 1024

struct key_slot {
	char *key;
	int64_t next_ms; /* earliest time of the next send to this key */
};

struct ratelimit {
	pthread_mutex_t lock;
	int64_t key_gap_ms;
	/* The global limit as a ring of the last `window` send times: a send may go when the
	 * oldest of them is at least a second old. */
	int64_t *ring;
	int window, head;
	struct key_slot *keys;
	size_t nkeys;
};

struct ratelimit *ratelimit_new(double per_key_per_s, double global_per_s)
{
	struct ratelimit *rl = xcalloc(1, sizeof(*rl));
	pthread_mutex_init(&rl->lock, NULL);
	rl->key_gap_ms = (int64_t)(1000.0 / per_key_per_s);
	rl->window = global_per_s >= 1 ? (int)global_per_s : 1;
	rl->ring = xcalloc((size_t)rl->window, sizeof(*rl->ring));
	for (int i = 0; i < rl->window; i++)
		rl->ring[i] = INT64_MIN / 2;
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	for (size_t i = 0; i < rl->nkeys; i++)
		free(rl->keys[i].key);
	free(rl->keys);
	free(rl->ring);
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

/* The key's slot, added when new. Called locked. */
static struct key_slot *slot(struct ratelimit *rl, const char *key, int64_t now_ms)
{
	for (size_t i = 0; i < rl->nkeys; i++)
		if (strcmp(rl->keys[i].key, key) == 0)
			return &rl->keys[i];
	if (rl->nkeys >= PRUNE_AT) {
		size_t kept = 0;
		for (size_t i = 0; i < rl->nkeys; i++) {
			if (rl->keys[i].next_ms > now_ms)
				rl->keys[kept++] = rl->keys[i];
			else
				free(rl->keys[i].key);
		}
		rl->nkeys = kept;
	}
	rl->keys = xrealloc(rl->keys, (rl->nkeys + 1) * sizeof(*rl->keys));
	rl->keys[rl->nkeys] = (struct key_slot){xstrdup(key), 0};
	return &rl->keys[rl->nkeys++];
}

int64_t ratelimit_take(struct ratelimit *rl, const char *key, int64_t now_ms)
{
	int64_t wait = 0;

	pthread_mutex_lock(&rl->lock);
	struct key_slot *s = slot(rl, key, now_ms);
	int64_t oldest = rl->ring[rl->head];
	if (s->next_ms > now_ms)
		wait = s->next_ms - now_ms;
	if (oldest + 1000 > now_ms && oldest + 1000 - now_ms > wait)
		wait = oldest + 1000 - now_ms;
	if (wait == 0) {
		s->next_ms = now_ms + rl->key_gap_ms;
		rl->ring[rl->head] = now_ms;
		rl->head = (rl->head + 1) % rl->window;
	}
	pthread_mutex_unlock(&rl->lock);
	return wait;
}

void ratelimit_block(struct ratelimit *rl, const char *key, int64_t until_ms)
{
	pthread_mutex_lock(&rl->lock);
	struct key_slot *s = slot(rl, key, until_ms);
	if (s->next_ms < until_ms)
		s->next_ms = until_ms;
	pthread_mutex_unlock(&rl->lock);
}
