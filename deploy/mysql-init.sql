-- Run once by the mysql:8 container on an empty data directory (docker-compose.yml
-- mounts it into /docker-entrypoint-initdb.d/). The same users and databases that
-- scripts/services.sh creates on the local MariaDB, for containers on the compose
-- network ('%' host instead of 127.0.0.1/localhost).

-- One database per broker service (b3-sim's journal is on PostgreSQL).
CREATE DATABASE IF NOT EXISTS mybroker_identity CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS mybroker_wallet   CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS mybroker_assets   CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS mybroker_orders   CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS mybroker_reports  CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- The services' user: everything on mybroker_* databases (so tests may create
-- mybroker_test_* ones too), nothing else.
CREATE USER IF NOT EXISTS 'mybroker'@'%' IDENTIFIED BY 'mybroker';
GRANT ALL PRIVILEGES ON `mybroker\_%`.* TO 'mybroker'@'%';
FLUSH PRIVILEGES;
