/*
 * mutants.h - the catalogue of bugs planted in the engine (CL_MUTANT in
 * engine/fault_points.h), each switched on by name in a build with
 * FIU_ENABLE (crashtest --mutant NAME), with the campaigns that should
 * catch it.  scripts/mutants.sh (make mutants) runs those campaigns and
 * prints the detection matrix; docs/FAULTS.md explains each entry.
 */
#ifndef CL_MUTANTS_H
#define CL_MUTANTS_H

#define MUTANT_MAX_CAMPAIGNS 3

typedef struct mutant_info {
    const char *name;   /* libfiu point mutant/<name> */
    const char *breaks; /* what it breaks, one line */
    /* The campaigns that should catch it: a mode (each at most once),
     * then the crashtest options that make its bug reachable ("" for the
     * defaults). */
    struct {
        const char *mode;
        const char *options;
    } campaigns[MUTANT_MAX_CAMPAIGNS];
    /* NULL, or why no campaign can catch it: an equivalent mutant, one
     * that changes the code but not what the engine does with any crash
     * state.  Kept in the catalogue (and run) as evidence. */
    const char *equivalent;
} mutant_info;

/* The catalogue, terminated by an entry with a NULL name. */
const mutant_info *mutant_all(void);
/* The entry called name, or NULL. */
const mutant_info *mutant_find(const char *name);

#endif
