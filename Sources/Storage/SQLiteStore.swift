internal import CSQLite
import Registry
