/*
 * sqlitekv.c - SQLite under `crashtest --exec` (docs/TARGETS.md): a table
 * of keys and values written by transactions of several statements, each
 * acknowledged when its COMMIT returns, with the promise SQLite's
 * documentation makes for its configuration.
 *
 *   sqlitekv DIR SYNC [JOURNAL]   SYNC: the synchronous pragma (off,
 *                                 normal, full, extra); JOURNAL: the
 *                                 journal_mode (delete, the default,
 *                                 truncate, persist, wal)
 *
 * In WAL mode SQLite maps the -shm index shared and writable: run it with
 * crashtest --nondurable -shm.
 *
 * SQLite's documentation
 * (https://www.sqlite.org/pragma.html#pragma_synchronous) says that in DELETE
 * mode a commit is the unlink of the rollback journal, and that only EXTRA
 * syncs the directory after that unlink: "EXTRA provides additional durability
 * if the commit is followed closely by a power loss".  So under power loss FULL
 * may lose the last acknowledged commit (a hot journal rolls it back) and EXTRA
 * may not; neither may ever show half a transaction.  NORMAL promises no
 * durability after a power cut (in WAL mode, not before a checkpoint, which
 * this program never asks for), OFF none either; every setting keeps a
 * commit through a crash of the program.  So each commit is acknowledged
 * against any crash (crashlab_ack) with EXTRA, and with FULL outside DELETE
 * mode; else against a crash of the program only (crashlab_ack_process),
 * and a power cut that loses it is an expected loss.  tests/test_exec.sh
 * checks them.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "crashlab_ack.h"

#define SQKV_TXNS 20

static int sqkv_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "sqlitekv: %s: %s\n", sql, err ? err : "?");
        sqlite3_free(err);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    char path[4096], sql[256];
    sqlite3 *db;

    const char *journal = argc == 4 ? argv[3] : "delete";
    int power;

    if ((argc != 3 && argc != 4) ||
        strspn(argv[2], "abcdefghijklmnopqrstuvwxyz") != strlen(argv[2]) ||
        strspn(journal, "abcdefghijklmnopqrstuvwxyz") != strlen(journal)) {
        fprintf(stderr, "usage: sqlitekv DIR off|normal|full|extra "
                        "[delete|truncate|persist|wal]\n");
        return 2;
    }
    power = strcmp(argv[2], "extra") == 0 ||
            (strcmp(argv[2], "full") == 0 && strcmp(journal, "delete") != 0);
    snprintf(path, sizeof(path), "%.4000s/kv.db", argv[1]);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return 1;
    snprintf(sql, sizeof(sql),
             "PRAGMA journal_mode=%s; PRAGMA synchronous=%s; "
             "CREATE TABLE kv(k TEXT PRIMARY KEY, v TEXT)",
             journal, argv[2]);
    if (sqkv_exec(db, sql) != 0)
        return 1;
    for (unsigned long id = 1; id <= SQKV_TXNS; id++) {
        char k1[16], k2[16], v[16];

        /* Two keys set together; every fifth transaction also deletes. */
        snprintf(k1, sizeof(k1), "a%lu", id % 6);
        snprintf(k2, sizeof(k2), "b%lu", id % 4);
        snprintf(v, sizeof(v), "v%lu", id);
        crashlab_txn(id, k1, v);
        crashlab_txn(id, k2, v);
        if (id % 5 == 0)
            crashlab_txn(id, "a0", NULL);
        snprintf(sql, sizeof(sql),
                 "BEGIN; INSERT OR REPLACE INTO kv VALUES('%s', '%s'); "
                 "INSERT OR REPLACE INTO kv VALUES('%s', '%s'); %s COMMIT",
                 k1, v, k2, v,
                 id % 5 == 0 ? "DELETE FROM kv WHERE k = 'a0';" : "");
        if (sqkv_exec(db, sql) != 0)
            return 1;
        if (power)
            crashlab_ack(id);
        else
            crashlab_ack_process(id);
    }
    return sqlite3_close(db) == SQLITE_OK ? 0 : 1;
}
