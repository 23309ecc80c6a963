/*
 * compat.h — the server APIs leadqual uses that changed between PostgreSQL 15 and 18.
 *
 * One shim per change (pgvector's style): the sources call the shim and compile
 * unchanged against the headers of 15, 16, 17 and 18.  Each macro expands to the
 * server's own call, so the file that uses it includes that call's header.
 */
#ifndef LEADQUAL_COMPAT_H
#define LEADQUAL_COMPAT_H

#include "postgres.h"

/* 16 added a soft-error context; NULL keeps the hard ereport of 15. */
#if PG_VERSION_NUM >= 160000
#define float8in_internal_compat(num, endptr_p, type_name, orig_string) \
	float8in_internal((num), (endptr_p), (type_name), (orig_string), NULL)
#else
#define float8in_internal_compat(num, endptr_p, type_name, orig_string) \
	float8in_internal((num), (endptr_p), (type_name), (orig_string))
#endif

/* 17 dropped the countincludesself flag, which 15 and 16 callers pass as false. */
#if PG_VERSION_NUM >= 170000
#define pq_sendcountedtext_compat(buf, str, slen) \
	pq_sendcountedtext((buf), (str), (slen))
#else
#define pq_sendcountedtext_compat(buf, str, slen) \
	pq_sendcountedtext((buf), (str), (slen), false)
#endif

/* 17 moved the backend's local transaction id into MyProc->vxid. */
#if PG_VERSION_NUM >= 170000
#define MyProcLocalTransactionId() (MyProc->vxid.lxid)
#else
#define MyProcLocalTransactionId() (MyProc->lxid)
#endif

/*
 * 16 made the regex library raise a cancel itself; 15's returns REG_CANCEL.
 * (Use after including regex/regex.h.)
 */
#ifdef REG_CANCEL
#define RegexCanceled(rc) ((rc) == REG_CANCEL)
#else
#define RegexCanceled(rc) false
#endif

/* 16 moved a range-table entry's permission bits into RTEPermissionInfo (none: NULL). */
#if PG_VERSION_NUM >= 160000
#define RteSelectedCols(query, rte) \
	((rte)->perminfoindex == 0 ? NULL : \
	 getRTEPermissionInfo((query)->rteperminfos, (rte))->selectedCols)
#else
#define RteSelectedCols(query, rte) ((rte)->selectedCols)
#endif

#endif							/* LEADQUAL_COMPAT_H */
