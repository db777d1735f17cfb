/* SPDX-License-Identifier: MIT
 *
 * ns-json.h: the small things every JSON writer and reader of the project does, done one
 * way (json-glib underneath): members added to a JsonBuilder, members read with their
 * type checked.
 *
 * Writing: a NULL string and a number that is not finite become null (JSON has no NaN;
 * json-glib would write "nan", which no reader accepts).  Reading: a member of another
 * type than asked is treated as absent, never passed to a json-glib getter that would
 * log a Json-CRITICAL (an object where a string was expected, a string where a number
 * was), so a damaged or hand-edited file is an error or a default, never a warning and a
 * zero.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* ---- writing: members of the object a builder is in -------------------------------- */

void        ns_json_add_string       (JsonBuilder *b, const char *name, const char *value);
void        ns_json_add_int          (JsonBuilder *b, const char *name, gint64 value);
void        ns_json_add_number       (JsonBuilder *b, const char *name, double value);
void        ns_json_add_boolean      (JsonBuilder *b, const char *name, gboolean value);
void        ns_json_add_null         (JsonBuilder *b, const char *name);
/* value when present, else null (a version, an id that may not be there). */
void        ns_json_add_int_or_null  (JsonBuilder *b, const char *name, gint64 value,
                                      gboolean present);
/* name: [strings] (an empty array for NULL). */
void        ns_json_add_strv         (JsonBuilder *b, const char *name, char **strv);
/* What b built, as compact JSON text (owned). */
char       *ns_json_builder_dup_text (JsonBuilder *b);

/* ---- reading -------------------------------------------------------------------------- */

/* TRUE when node is a value of type (G_TYPE_STRING, G_TYPE_INT64, G_TYPE_DOUBLE,
 * G_TYPE_BOOLEAN). */
gboolean    ns_json_node_holds       (JsonNode *node, GType type);
/* "a string", "an integer", "a fraction", "a boolean", "an object", "an array", "null":
 * for messages saying what was found instead. */
const char *ns_json_node_type_name   (JsonNode *node);
/* The member as a string (borrowed), NULL when absent or not a string. */
const char *ns_json_get_string       (JsonObject *object, const char *name);
/* The same, owned. */
char       *ns_json_dup_string       (JsonObject *object, const char *name);
/* The member as a finite number (an integer or a fraction), else fallback. */
double      ns_json_get_number       (JsonObject *object, const char *name, double fallback);
/* The member as an integer into *value; FALSE (value untouched) when absent or not one. */
gboolean    ns_json_get_int          (JsonObject *object, const char *name, gint64 *value);
/* The member as an object (borrowed), NULL when absent or not an object. */
JsonObject *ns_json_get_object       (JsonObject *object, const char *name);
/* The strings of an array member, in order, elements of other types left out (owned,
 * NULL-terminated); NULL when absent or not an array. */
char      **ns_json_dup_strv         (JsonObject *object, const char *name);
/* text (length bytes, -1: NUL-terminated) parsed; its root when that is an object (a new
 * reference), else NULL and, when error is not NULL, an NS_DATA_ERROR_CORRUPT error that
 * says what it is ("not valid JSON (...)", "an array, not a JSON object") for the caller to
 * prefix with what the text was. */
JsonObject *ns_json_parse_object     (const char *text, gssize length, GError **error);

G_END_DECLS
