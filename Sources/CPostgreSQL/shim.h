#ifndef CPOSTGRESQL_SHIM_H
#define CPOSTGRESQL_SHIM_H
#include <libpq-fe.h>

/* libpq has no variadic calls; what Swift needs is a typed stand-in for its macros and a C
   callback it can name. */

static void cpostgresql_discard_notice(void *context, const char *message) {
    (void)context;
    (void)message;
}

/* By default libpq prints the server's NOTICE and WARNING messages on stderr; a library must not
   write there, and every failure the store cares about arrives as an error result instead. */
static inline void cpostgresql_discard_notices(PGconn *connection) {
    PQsetNoticeProcessor(connection, cpostgresql_discard_notice, NULL);
}

/* InvalidOid is a macro: "let the server infer the parameter's type". */
static inline Oid cpostgresql_invalid_oid(void) { return InvalidOid; }

/* The error fields read from a failed result; PG_DIAG_* are character macros. */
static inline const char *cpostgresql_sqlstate(const PGresult *result) {
    return PQresultErrorField(result, PG_DIAG_SQLSTATE);
}

static inline const char *cpostgresql_primary_message(const PGresult *result) {
    return PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
}

static inline const char *cpostgresql_constraint_name(const PGresult *result) {
    return PQresultErrorField(result, PG_DIAG_CONSTRAINT_NAME);
}

#endif
