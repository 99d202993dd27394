/*
 * testable.h — TESTABLE marks internals that unit tests call: `static` in
 * normal builds, external when built with SESAME_TESTING (curl's UNITTEST).
 */
#ifndef SESAME_UTIL_TESTABLE_H
#define SESAME_UTIL_TESTABLE_H
#ifdef SESAME_TESTING
#define TESTABLE
#else
#define TESTABLE static
#endif
#endif
