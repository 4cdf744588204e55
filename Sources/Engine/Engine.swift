import Registry
import Rules
import Messaging
import Storage
