/* apiutil: helpers shared by the operator API's handlers (see apiutil.h). */
#include "apiutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "region.h"
#include "strbuf.h"
#include "timefmt.h"

int api_bad_parameter(struct http_response *resp, const char *name, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	http_respond_error(resp, 400, "invalid_parameter", name, msg);
	return -1;
}

int api_query_time(const struct http_request *req, struct http_response *resp, const char *name,
                   int64_t *ms, bool *present)
{
	const char *v = http_request_query(req, name);

	*present = v != NULL;
	if (v && rfc3339_parse(v, ms) < 0)
		return api_bad_parameter(resp, name,
		                         "not an RFC 3339 time (e.g. 2026-11-28T09:00:00+07:00)");
	return 0;
}

void api_url_encode(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			strbuf_addch(sb, (char)*p);
		} else {
			strbuf_addch(sb, '%');
			strbuf_addch(sb, hex[*p >> 4]);
			strbuf_addch(sb, hex[*p & 15]);
		}
	}
}

void api_name_incident(json_t *obj, const struct region *region)
{
	const char *aid = json_string_value(json_object_get(obj, "authority"));
	const char *mid = json_string_value(json_object_get(obj, "municipality"));

	if (aid) {
		const struct region_authority *a = region_authority(region, aid);
		json_object_set_new(
		        obj, "authority",
		        json_pack("{s:s, s:s?}", "id", aid, "name", a ? a->name : NULL));
	}
	const struct region_municipality *m = mid ? region_municipality(region, mid) : NULL;
	json_object_set_new(obj, "municipality_name", m ? json_string(m->short_name) : json_null());
}

void api_respond(struct http_response *resp, int status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(10));

	if (!text) {
		http_respond_json(resp, status, body); /* its own answer to the unserialisable */
		return;
	}
	json_decref(body);
	free(resp->body);
	resp->status = status;
	resp->content_type = "application/json";
	resp->body = text;
	resp->body_len = strlen(text);
}
