/* collector: the service's metrics and wake-up (see collector.h). */
#include "collector.h"

#include "metrics.h"

void collector_setup(struct collector *c, struct metrics *reg)
{
	c->messages = metrics_counter(reg, "collector_messages_total",
	                              "Messages received, by source and outcome "
	                              "(accepted, duplicate, updated, rejected).",
	                              "source,outcome");
	c->rejected = metrics_counter(reg, "collector_rejected_total",
	                              "Messages rejected, by source and offending field.",
	                              "source,field");
	c->polls = metrics_counter(reg, "collector_polls_total",
	                           "Polls of each source, by result (ok, retry, rate_limited, "
	                           "failed).",
	                           "source,result");
	c->poll_seconds = metrics_histogram(reg, "collector_poll_duration_seconds",
	                                    "Time one poll of a source took.", "source", NULL, 0);
	c->source_up = metrics_gauge(reg, "collector_source_up",
	                             "1 while a source polls, 0 after a failure that needs an "
	                             "operator (bad credentials).",
	                             "source");
	c->backlog = metrics_gauge(reg, "collector_outbox_backlog",
	                           "Stored messages not yet acknowledged by Kafka.", NULL);
	c->published =
	        metrics_counter(reg, "collector_published_total",
	                        "Messages published to messages.raw and acknowledged.", NULL);
	pthread_mutex_init(&c->wake_lock, NULL);
	pthread_cond_init(&c->wake, NULL);
	c->woken = false;
}

void collector_teardown(struct collector *c)
{
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->wake_lock);
}
