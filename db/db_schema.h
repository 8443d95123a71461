// The document store's tables in the node's database (component "db" in schema_versions).
#pragma once

#include "storage/schema_versions.h"

namespace topicdb::db {

storage::ComponentSchema db_schema();

}  // namespace topicdb::db
