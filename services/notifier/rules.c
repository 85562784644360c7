/* rules: event type -> roles -> planned deliveries (see rules.h). */
#include "rules.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "templates.h"
#include "xalloc.h"

static const struct {
	const char *name;
	enum notify_role role;
} roles[] = {
        {"authority", NOTIFY_AUTHORITY},   {"parent", NOTIFY_PARENT},
        {"previous", NOTIFY_PREVIOUS},     {"citizens", NOTIFY_CITIZENS},
        {"subscriber", NOTIFY_SUBSCRIBER},
};
#define NROLES (sizeof(roles) / sizeof(roles[0]))

const char *notify_role_name(enum notify_role role)
{
	for (size_t i = 0; i < NROLES; i++)
		if (roles[i].role == role)
			return roles[i].name;
	return "unknown";
}

static void rules_default(struct notify_rules *r)
{
	memset(r, 0, sizeof(*r));
	r->roles[INCIDENT_ASSIGNED] = NOTIFY_AUTHORITY;
	r->roles[INCIDENT_REMINDER] = NOTIFY_AUTHORITY;
	r->roles[INCIDENT_OVERDUE] = NOTIFY_AUTHORITY | NOTIFY_PARENT;
	r->roles[INCIDENT_ESCALATED] = NOTIFY_AUTHORITY | NOTIFY_PARENT;
	r->roles[INCIDENT_REASSIGNED] = NOTIFY_AUTHORITY | NOTIFY_PREVIOUS;
	r->roles[INCIDENT_RESPONDED] = NOTIFY_CITIZENS;
}

/* One "type=role|role" entry into r. */
static int parse_entry(const char *entry, struct notify_rules *r, char *err, size_t errlen)
{
	const char *eq = strchr(entry, '=');
	if (!eq) {
		snprintf(err, errlen, "NOTIFY_RULES: \"%.60s\" is not type=role|role", entry);
		return -1;
	}
	char *type = xstrndup(entry, (size_t)(eq - entry));
	char *full =
	        strncmp(type, "incident.", 9) == 0 ? xstrdup(type) : xasprintf("incident.%s", type);
	int t = incident_event_type_parse(full);
	free(full);
	if (t < 0) {
		snprintf(err, errlen, "NOTIFY_RULES: unknown event type \"%.60s\"", type);
		free(type);
		return -1;
	}
	free(type);
	unsigned set = 0;
	const char *p = eq + 1;
	while (*p) {
		size_t n = strcspn(p, "|");
		size_t i;
		for (i = 0; i < NROLES; i++)
			if (roles[i].role != NOTIFY_SUBSCRIBER && strlen(roles[i].name) == n &&
			    strncmp(p, roles[i].name, n) == 0)
				break;
		if (i == NROLES) {
			snprintf(
			        err, errlen,
			        "NOTIFY_RULES: unknown role \"%.*s\" (authority, parent, previous, "
			        "citizens)",
			        (int)(n > 40 ? 40 : n), p);
			return -1;
		}
		set |= roles[i].role;
		p += n;
		if (*p == '|')
			p++;
	}
	r->roles[t] = set;
	return 0;
}

static int add_subscriber(const char *url, struct notify_rules *r, char *err, size_t errlen)
{
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
		snprintf(err, errlen, "WEBHOOK_SUBSCRIBERS: \"%.60s\" is not an http(s) URL", url);
		return -1;
	}
	r->subscribers = xrealloc(r->subscribers, (r->nsubscribers + 1) * sizeof(char *));
	r->subscribers[r->nsubscribers++] = xstrdup(url);
	return 0;
}

/* Calls fn on each non-empty item of a comma-separated list until one fails. */
static int each_item(const char *list,
                     int (*fn)(const char *, struct notify_rules *, char *, size_t),
                     struct notify_rules *r, char *err, size_t errlen)
{
	if (!list)
		return 0;
	char *copy = xstrdup(list), *save = NULL;
	int rc = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok && rc == 0;
	     tok = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*tok))
			tok++;
		if (*tok)
			rc = fn(tok, r, err, errlen);
	}
	free(copy);
	return rc;
}

int notify_rules_parse(const char *spec, const char *subscribers, struct notify_rules *r, char *err,
                       size_t errlen)
{
	rules_default(r);
	if (each_item(spec, parse_entry, r, err, errlen) < 0)
		return -1;
	return each_item(subscribers, add_subscriber, r, err, errlen);
}

void notify_rules_free(struct notify_rules *r)
{
	for (size_t i = 0; i < r->nsubscribers; i++)
		free(r->subscribers[i]);
	free(r->subscribers);
	r->subscribers = NULL;
	r->nsubscribers = 0;
}

static void add(struct plan *p, const char *channel, const char *recipient, enum notify_role role,
                json_t *payload)
{
	p->items = xrealloc(p->items, (p->n + 1) * sizeof(*p->items));
	p->items[p->n].channel = xstrdup(channel);
	p->items[p->n].recipient = xstrdup(recipient);
	p->items[p->n].role = notify_role_name(role);
	p->items[p->n].payload = payload;
	p->n++;
}

/* A string or integer member as text (ids come both ways), or NULL. */
static char *id_text(const json_t *o, const char *name)
{
	const json_t *v = json_object_get(o, name);
	if (json_is_string(v) && *json_string_value(v))
		return xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	return NULL;
}

/* The event as a webhook to url; *event caches its encoding across calls. */
static void add_webhook(const struct incident_event *ev, const char *url, enum notify_role role,
                        json_t **event, struct plan *p)
{
	if (!*event)
		*event = incident_event_encode(ev);
	add(p, CHANNEL_WEBHOOK, url, role,
	    json_pack("{s:s, s:O, s:s}", "url", url, "event", *event, "role",
	              notify_role_name(role)));
}

/* Every channel of one authority. */
static void plan_authority(const struct incident_event *ev, const json_t *authority,
                           enum notify_role role, int offset, struct plan *p)
{
	const json_t *channels = json_object_get(authority, "channels");
	const json_t *ch;
	size_t i;
	struct notice notice = {0};
	json_t *event = NULL;

	if (!json_is_array(channels) || json_array_size(channels) == 0)
		return;
	template_notice(ev, role, offset, &notice);
	json_array_foreach(channels, i, ch)
	{
		const char *type = json_string_value(json_object_get(ch, "type"));
		if (!type)
			continue;
		if (strcmp(type, "email") == 0) {
			const char *to = json_string_value(json_object_get(ch, "address"));
			if (!to)
				continue;
			/* Addresses differ only in case in practice: one key for both spellings. */
			char *key = xstrdup(to);
			for (char *c = key; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			add(p, CHANNEL_EMAIL, key, role,
			    json_pack("{s:s, s:s, s:s}", "to", to, "subject", notice.subject,
			              "body", notice.body));
			free(key);
		} else if (strcmp(type, "telegram") == 0) {
			char *chat = id_text(ch, "chat_id");
			if (!chat)
				continue;
			add(p, CHANNEL_TELEGRAM, chat, role,
			    json_pack("{s:s, s:s}", "chat_id", chat, "text", notice.body));
			free(chat);
		} else if (strcmp(type, "webhook") == 0) {
			const char *url = json_string_value(json_object_get(ch, "url"));
			if (url)
				add_webhook(ev, url, role, &event, p);
		}
	}
	json_decref(event);
	notice_clear(&notice);
}

/* The answer into every thread the citizens wrote in, where the source lets us reply. */
static void plan_citizens(const struct incident_event *ev, struct plan *p)
{
	char *text = template_answer(ev);
	const json_t *report;
	size_t i;

	if (!text)
		return;
	json_array_foreach(ev->reports, i, report)
	{
		const char *source = json_string_value(json_object_get(report, "source"));
		const json_t *thread = json_object_get(report, "thread");
		if (!source || !json_is_object(thread))
			continue;
		if (strcmp(source, "vk") == 0) {
			char *owner = id_text(thread, "owner_id"),
			     *post = id_text(thread, "post_id");
			char *comment = id_text(thread, "comment_id");
			if (owner && post) {
				char *rcpt = comment ? xasprintf("%s_%s#%s", owner, post, comment)
				                     : xasprintf("%s_%s", owner, post);
				json_t *payload = json_pack("{s:s, s:s, s:s}", "owner_id", owner,
				                            "post_id", post, "text", text);
				if (comment)
					json_object_set_new(payload, "comment_id",
					                    json_string(comment));
				add(p, CHANNEL_VK_REPLY, rcpt, NOTIFY_CITIZENS, payload);
				free(rcpt);
			}
			free(owner);
			free(post);
			free(comment);
		} else if (strcmp(source, "telegram") == 0) {
			char *chat = id_text(thread, "chat_id"),
			     *msg = id_text(thread, "message_id");
			char *end = NULL;
			long long msg_id = msg ? strtoll(msg, &end, 10) : 0;
			if (chat && msg && end && *end == '\0' && msg_id > 0) {
				char *rcpt = xasprintf("%s/%s", chat, msg);
				add(p, CHANNEL_TELEGRAM_REPLY, rcpt, NOTIFY_CITIZENS,
				    json_pack("{s:s, s:I, s:s}", "chat_id", chat,
				              "reply_to_message_id", (json_int_t)msg_id, "text",
				              text));
				free(rcpt);
			}
			free(chat);
			free(msg);
		}
	}
	free(text);
}

void notify_plan(const struct notify_rules *r, const struct incident_event *ev, int utc_offset_min,
                 struct plan *p)
{
	unsigned set = (unsigned)ev->type < INCIDENT_EVENT_TYPES ? r->roles[ev->type] : 0;

	if ((set & NOTIFY_AUTHORITY) && ev->authority)
		plan_authority(ev, ev->authority, NOTIFY_AUTHORITY, utc_offset_min, p);
	if ((set & NOTIFY_PARENT) && ev->parent_authority)
		plan_authority(ev, ev->parent_authority, NOTIFY_PARENT, utc_offset_min, p);
	if ((set & NOTIFY_PREVIOUS) && ev->previous_authority)
		plan_authority(ev, ev->previous_authority, NOTIFY_PREVIOUS, utc_offset_min, p);
	if ((set & NOTIFY_CITIZENS) && ev->reports)
		plan_citizens(ev, p);
	json_t *event = NULL;
	for (size_t i = 0; i < r->nsubscribers; i++)
		add_webhook(ev, r->subscribers[i], NOTIFY_SUBSCRIBER, &event, p);
	json_decref(event);
}

void plan_clear(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->items[i].channel);
		free(p->items[i].recipient);
		json_decref(p->items[i].payload);
	}
	free(p->items);
	p->items = NULL;
	p->n = 0;
}
