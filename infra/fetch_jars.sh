#!/usr/bin/env bash
# Fetch the JVM jars of infra/jvm/pom.xml from Maven Central once (with Maven, which checks
# the repository's checksums), then verify them against our own pinned SHA-256 list.
set -euo pipefail
dest=${1:-.cache/jars}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
if ! (cd "$dest" && sha256sum --quiet -c "$here/jvm/jars.sha256" 2>/dev/null); then
  command -v mvn >/dev/null || { echo "Maven (mvn) not found: needed once to fetch the Delta jars"; exit 1; }
  # Spark already ships scala-library and antlr4-runtime: a second copy would clash.
  mvn -q -B -C -f "$here/jvm/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$dest" -DincludeScope=runtime \
    -DexcludeArtifactIds=scala-library,antlr4-runtime
  (cd "$dest" && sha256sum -c "$here/jvm/jars.sha256")
fi
echo "jars ok in $dest"
