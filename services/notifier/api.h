/*
 * api: the operator's view of deliveries, behind bearer tokens (OPERATOR_TOKENS).
 *
 *   GET  /v1/deliveries?incident=42&channel=email&status=dead&limit=50&before=<id>
 *        newest first; {"deliveries":[...], "next_before": <id or null>} (pass it as
 *        before= for the next page). A bad filter is a 400 naming it.
 *   GET  /v1/deliveries/{id}
 *   POST /v1/deliveries/{id}/retry
 *        a dead delivery due again now, attempts from zero: 200 with the row; 404 when there
 *        is no such delivery; 409 when it is not dead.
 *
 * 401 without a known token, 503 when the database is unreachable.
 */
#ifndef NOTIFIER_API_H
#define NOTIFIER_API_H

struct http_server;
struct db_pool;
struct workers;

struct api;

/* Registers the routes. tokens: comma-separated secrets (copied; NULL or "": every request is
 * refused). pool and workers are borrowed (workers may be NULL) and must outlive the server. */
struct api *api_new(struct http_server *srv, struct db_pool *pool, struct workers *workers,
                    const char *tokens);

/* Frees after the HTTP server is gone. NULL is accepted. */
void api_free(struct api *a);

#endif
