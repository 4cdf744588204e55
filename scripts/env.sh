# Sourced by the scripts: the toolchain on PATH and the repository root as the working directory.
export PATH="/opt/swift/usr/bin:$PATH"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
