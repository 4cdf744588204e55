import Config
import Foundation
import Messaging
import Registry
import Rules
import Storage

/// The files and store a command works on, resolved from a `Configuration`.
public struct Workspace: Sendable {
    public let configuration: Configuration

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    public var schema: AttributeSchema { configuration.schema }

    /// Opens (and migrates) the store: the PostgreSQL one `store.url` names, else the SQLite file.
    public func openStore(readOnly: Bool = false) throws -> any PolicyPushStore {
        try Store.open(url: configuration.storeLocation, readOnly: readOnly)
    }

    /// The store as messages name it: its path, or a PostgreSQL connection without secrets.
    public var storeDescription: String {
        Store.describe(url: configuration.storeLocation)
    }

    /// Whether several daemons may share the store (PostgreSQL).
    public var storeIsShared: Bool {
        Store.isShared(url: configuration.storeLocation)
    }

    public func loadPolicies() -> (PolicyCatalog, [Diagnostic]) {
        PolicyCatalog.load(directory: configuration.policiesDirectory, schema: schema)
    }

    public func loadTemplates() throws -> TemplateSet {
        try TemplateSet.load(directory: configuration.templatesDirectory, schema: schema)
    }

    /// The keyed tokens of package links (`landing.secret_file`, generated on first use by default).
    public func linkTokens() throws -> LinkTokens {
        try LinkTokens.load(configuration.landing)
    }

    /// Loads every enterprise of the store into the configured number of shards.
    public func loadShards(from store: some EnterpriseStore) throws -> ShardedRegistry {
        try ShardedRegistry.build(shardCount: configuration.shards, schema: schema) { add in
            try store.forEachEnterprise { add($0) }
        }
    }

    /// Today in the configured time zone (the default campaign date).
    public func today(now: Date = Date()) -> LocalDate {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = configuration.timeZone
        let c = calendar.dateComponents([.year, .month, .day], from: now)
        return LocalDate(year: c.year!, month: c.month!, day: c.day!)!
    }
}
