import Config
import Foundation
import Testing

/// `store.url` and `store.password_file`: a PostgreSQL store named without its password.
@Suite("Configuration: store.url")
struct StoreConnectionTests {
    func load(_ text: String, environment: [String: String] = [:]) throws -> Configuration {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pp-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("policypush.json5").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return try Configuration.load(
            file: path, environment: environment.merging(["POLICYPUSH_STATE_DIR": "/tmp/pp-state"]) { a, _ in a })
    }

    @Test func aURLAndAPasswordFileMakeTheLocation() throws {
        let config = try load(
            #"{ store: { url: "postgres://pp@db1/policypush?sslmode=require", password_file: "$CREDENTIALS_DIRECTORY/pg pass" } }"#,
            environment: ["CREDENTIALS_DIRECTORY": "/run/credentials/policypush.service"])
        #expect(config.storeConnection?.passwordFile == "/run/credentials/policypush.service/pg pass")
        #expect(
            config.storeLocation
                == "postgres://pp@db1/policypush?sslmode=require&passfile=/run/credentials/policypush.service/pg%20pass"
        )
    }

    @Test func aKeyValueStringTakesThePasswordFileQuoted() throws {
        let config = try load(#"{ store: { url: "host=/tmp/pg dbname=pp", password_file: "secrets/it's" } }"#)
        let file = try #require(config.storeConnection?.passwordFile)
        #expect(file.hasSuffix("/secrets/it's") && file.hasPrefix("/"), "resolved beside the config file")
        #expect(
            config.storeLocation
                == "host=/tmp/pg dbname=pp passfile='\(file.replacingOccurrences(of: "'", with: "\\'"))'")
    }

    @Test func withoutAURLTheStoreIsTheSQLiteFile() throws {
        let config = try load("{}")
        #expect(config.storeConnection == nil)
        #expect(config.storeLocation == "/tmp/pp-state/policypush.sqlite")
    }

    @Test(arguments: [
        (#"url: "postgres://pp:s3cret@db1/policypush""#, "store.url: holds a password"),
        (#"url: "postgresql://db1/policypush?sslmode=require&password=s3cret""#, "store.url: holds a password"),
        (#"url: "host=db1 user=pp password = 's3 cret'""#, "store.url: sets password"),
        (#"url: "host=db1 sslpassword=s3cret""#, "store.url: sets sslpassword"),
        (
            #"url: "/var/lib/policypush/policypush.sqlite""#,
            "store.url: expected a postgres:// URL or a libpq key=value"
        ),
        (#"url: "host=db1", path: "x.sqlite""#, "store: give store.url (PostgreSQL) or store.path (SQLite), not both"),
        (#"password_file: "pgpass""#, "store.password_file: only used with store.url"),
    ])
    func badStoreSettingsAreProblemsAtTheirKeyPath(_ setting: String, _ expected: String) throws {
        let error = #expect(throws: ConfigurationError.self) { try load("{ store: { \(setting) } }") }
        #expect(error?.description.contains(expected) == true, "\(error?.description ?? "")")
        #expect(error?.description.contains("s3") != true, "a password never appears in the message")
    }

    @Test func theEnvironmentNamesTheStoreWhenTheFileDoesNot() throws {
        let url = "host=/tmp/pg dbname=pp"
        #expect(try load("{}", environment: ["POLICYPUSH_STORE_URL": url]).storeLocation == url)
        #expect(
            try load(#"{ store: { path: "/x/p.sqlite" } }"#, environment: ["POLICYPUSH_STORE_URL": url]).storeLocation
                == "/x/p.sqlite")
        let error = #expect(throws: ConfigurationError.self) {
            try load("{}", environment: ["POLICYPUSH_STORE_URL": "postgres://pp:s3cret@db1/pp"])
        }
        #expect(error?.description.contains("store.url (from $POLICYPUSH_STORE_URL): holds a password") == true)
    }
}
