/*
 * sqlitekv_verify.c - the verify program of sqlitekv.c: open the
 * database (SQLite rolls back a hot journal here), require
 * PRAGMA integrity_check to say ok, and print every row as KEY<TAB>VALUE
 * (keys and values hold no TAB, newline or backslash).  No database, or
 * no table yet, is the empty state.
 *
 *   sqlitekv-verify DIR
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int sqkv_row(void *ctx, int n, char **v, char **cols)
{
    (void)cols;
    if (ctx != NULL) {
        snprintf(ctx, 64, "%s", n > 0 && v[0] ? v[0] : "");
        return 0;
    }
    printf("%s\t%s\n", v[0], v[1]);
    return 0;
}

int main(int argc, char **argv)
{
    char path[4096], check[64] = "";
    sqlite3 *db;
    char *err = NULL;

    if (argc != 2) {
        fprintf(stderr, "usage: sqlitekv-verify DIR\n");
        return 2;
    }
    snprintf(path, sizeof(path), "%.4000s/kv.db", argv[1]);
    if (access(path, F_OK) != 0)
        return 0;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return 1;
    if (sqlite3_exec(db, "PRAGMA integrity_check", sqkv_row, check, &err) !=
            SQLITE_OK ||
        strcmp(check, "ok") != 0) {
        fprintf(stderr, "sqlitekv-verify: integrity_check: %s\n",
                err ? err : check);
        return 1;
    }
    if (sqlite3_exec(db, "SELECT k, v FROM kv ORDER BY k", sqkv_row, NULL,
                     &err) != SQLITE_OK) {
        int empty = err && strstr(err, "no such table") != NULL;
        if (!empty)
            fprintf(stderr, "sqlitekv-verify: %s\n", err ? err : "?");
        return empty ? 0 : 1;
    }
    return sqlite3_close(db) == SQLITE_OK ? 0 : 1;
}
