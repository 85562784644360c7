/* templates: the Russian notices and published answers (see templates.h). */
#include "templates.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strbuf.h"
#include "timefmt.h"
#include "xalloc.h"

/* Summary characters in a subject line: enough to recognise the incident in a list. */
#define SUBJECT_SUMMARY_CHARS 60

static const char *str(const json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));
	return s && *s ? s : NULL;
}

char *template_time(const char *rfc3339, int utc_offset_min)
{
	int64_t ms;
	char buf[40];
	struct tm tm;

	if (!rfc3339 || rfc3339_parse(rfc3339, &ms) < 0)
		return NULL;
	time_t local = (time_t)(ms / 1000) + (time_t)utc_offset_min * 60;
	gmtime_r(&local, &tm);
	strftime(buf, sizeof(buf), "%d.%m.%Y %H:%M", &tm);
	int off = utc_offset_min < 0 ? -utc_offset_min : utc_offset_min;
	return xasprintf("%s (UTC%c%02d:%02d)", buf, utc_offset_min < 0 ? '-' : '+', off / 60,
	                 off % 60);
}

/* At most the first `chars` characters of UTF-8 text, on one line (line breaks and tabs
 * become spaces), cut between words, with "…" when cut. Caller frees. */
static char *cut(const char *text, size_t chars)
{
	size_t i = 0, n = 0;
	char *line = xstrdup(text);
	for (char *c = line; *c; c++)
		if (*c == '\r' || *c == '\n' || *c == '\t')
			*c = ' ';
	const char *s = line;

	while (s[i] && n < chars) {
		i++;
		while ((s[i] & 0xC0) == 0x80)
			i++;
		n++;
	}
	if (!s[i])
		return line;
	/* Cut at the last space, not in the middle of a word. */
	size_t end = i;
	while (end > 0 && s[end] != ' ')
		end--;
	if (end == 0)
		end = i;
	while (end > 0 && s[end - 1] == ' ')
		end--;
	char *out = xasprintf("%.*s…", (int)end, s);
	free(line);
	return out;
}

/* The first line: what happened, from this reader's point of view. */
static void add_title(struct strbuf *sb, const struct incident_event *ev, enum notify_role role)
{
	long long id = (long long)ev->incident_id;

	switch (ev->type) {
	case INCIDENT_ASSIGNED:
		strbuf_addf(sb, "Вам назначено обращение №%lld", id);
		break;
	case INCIDENT_REASSIGNED:
		if (role == NOTIFY_PREVIOUS)
			strbuf_addf(sb, "Обращение №%lld передано другому исполнителю", id);
		else
			strbuf_addf(sb, "Вам передано обращение №%lld", id);
		break;
	case INCIDENT_REMINDER:
		strbuf_addf(sb, "Напоминание: истекает срок ответа по обращению №%lld", id);
		break;
	case INCIDENT_OVERDUE:
		if (role == NOTIFY_PARENT)
			strbuf_addf(
			        sb,
			        "Подведомственный исполнитель просрочил ответ по обращению №%lld",
			        id);
		else
			strbuf_addf(sb, "Просрочен ответ по обращению №%lld", id);
		break;
	case INCIDENT_ESCALATED:
		if (role == NOTIFY_PARENT)
			strbuf_addf(sb, "Эскалация: обращение №%lld передано вам на контроль", id);
		else
			strbuf_addf(sb, "Обращение №%lld эскалировано вышестоящему органу", id);
		break;
	case INCIDENT_RESPONDED:
		strbuf_addf(sb, "Ответ по обращению №%lld зарегистрирован", id);
		break;
	case INCIDENT_RESOLVED:
		strbuf_addf(sb, "Обращение №%lld закрыто как решённое", id);
		break;
	case INCIDENT_REOPENED:
		strbuf_addf(sb, "Обращение №%lld открыто повторно", id);
		break;
	default:
		strbuf_addf(sb, "Изменение по обращению №%lld (%s)", id,
		            incident_event_type_name(ev->type));
	}
}

static void add_line(struct strbuf *sb, const char *label, const char *value)
{
	if (value)
		strbuf_addf(sb, "%s: %s\n", label, value);
}

static void add_time_line(struct strbuf *sb, const char *label, const char *rfc3339, int offset)
{
	char *t = template_time(rfc3339, offset);
	add_line(sb, label, t);
	free(t);
}

void template_notice(const struct incident_event *ev, enum notify_role role, int utc_offset_min,
                     struct notice *out)
{
	const json_t *inc = ev->incident;
	const char *summary = str(inc, "summary");
	const char *place = str(inc, "municipality_name");
	const char *address = str(inc, "address");
	json_t *affected = json_object_get(inc, "affected");
	json_t *reports = json_object_get(inc, "reports");
	struct strbuf title = {0}, sb = {0};

	add_title(&title, ev, role);
	strbuf_addf(&sb, "%s.\n\n", title.buf);
	add_line(&sb, "Что", summary);
	add_line(&sb, "Где", address ? address : place);
	if (address && place && !strstr(address, place))
		add_line(&sb, "Муниципальное образование", place);
	if (json_is_integer(affected) || json_is_integer(reports)) {
		json_int_t people = json_is_integer(affected) ? json_integer_value(affected)
		                                              : json_integer_value(reports);
		strbuf_addf(&sb, "Сколько жителей обратились: %" JSON_INTEGER_FORMAT, people);
		if (json_is_integer(reports))
			strbuf_addf(&sb, " (сообщений: %" JSON_INTEGER_FORMAT ")",
			            json_integer_value(reports));
		strbuf_addch(&sb, '\n');
	}
	const char *urgency = str(inc, "urgency");
	if (urgency)
		add_line(&sb, "Срочность", strcmp(urgency, "high") == 0 ? "высокая" : "обычная");
	if (ev->type != INCIDENT_RESOLVED && ev->type != INCIDENT_RESPONDED) {
		add_time_line(&sb, "Срок первого ответа", str(inc, "first_answer_due"),
		              utc_offset_min);
		add_time_line(&sb, "Срок окончательного ответа", str(inc, "final_answer_due"),
		              utc_offset_min);
	}
	if (role == NOTIFY_PARENT || role == NOTIFY_PREVIOUS)
		add_line(&sb, role == NOTIFY_PREVIOUS ? "Новый исполнитель" : "Исполнитель",
		         str(ev->authority, "name"));
	if (ev->type == INCIDENT_REASSIGNED && role == NOTIFY_AUTHORITY)
		add_line(&sb, "Прежний исполнитель", str(ev->previous_authority, "name"));
	add_line(&sb, "Ссылка", str(inc, "url"));
	strbuf_addstr(&sb, "\nСообщение отправлено автоматически системой «Отклик». "
	                   "Ответ на обращение регистрируйте по ссылке выше.\n");

	if (summary) {
		char *short_summary = cut(summary, SUBJECT_SUMMARY_CHARS);
		out->subject = xasprintf("%s: %s", title.buf, short_summary);
		free(short_summary);
	} else {
		out->subject =
		        xasprintf("%s%s%s", title.buf, place ? " — " : "", place ? place : "");
	}
	out->body = strbuf_detach(&sb);
	strbuf_release(&title);
}

char *template_answer(const struct incident_event *ev)
{
	const char *text = str(ev->answer, "text");
	const char *kind = str(ev->answer, "kind");
	const char *who = str(ev->answer, "author");

	if (!text)
		return NULL;
	if (!who)
		who = str(ev->authority, "name");
	return xasprintf("%s%s%s%s",
	                 kind && strcmp(kind, "interim") == 0 ? "Промежуточный ответ. " : "", text,
	                 who ? "\n\n— " : "", who ? who : "");
}

void notice_clear(struct notice *n)
{
	free(n->subject);
	free(n->body);
	n->subject = n->body = NULL;
}
