#include "postgres.h"
#include "leadqual.h"

void
ruleset_init(void)
{
}
