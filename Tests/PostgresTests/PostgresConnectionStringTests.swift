import Testing

@testable import Storage

/// Connection strings as `store.url` gives them: a URL or libpq's `key=value`, parsed by libpq.
/// These need no server.
@Suite struct PostgresConnectionStringTests {
    @Test func aURLAndAKeyValueStringNameTheSameServer() throws {
        let url = try PGConnectionString("postgres://pp@db.example:6543/policypush?connect_timeout=3")
        let pairs = try PGConnectionString("host=db.example port=6543 dbname=policypush user=pp connect_timeout=3")
        for key in ["host", "port", "dbname", "user", "connect_timeout"] {
            #expect(url[key] == pairs[key], "\(key)")
        }
        #expect(url["host"] == "db.example")
        #expect(url["port"] == "6543")
        #expect(pairs["dbname"] == "policypush")
    }

    @Test func aURLNamesASocketDirectoryPercentEncoded() throws {
        let url = try PGConnectionString("postgresql://pp@%2Frun%2Fpolicypush%20pg:5432/税务")
        #expect(url["host"] == "/run/policypush pg")
        #expect(url["dbname"] == "税务")
    }

    @Test func theDescriptionNeverShowsAPassword() throws {
        let url = try PGConnectionString("postgres://pp:s3cr3t-pw@db.example/policypush")
        let pairs = try PGConnectionString("host=db.example user=pp password='s3cr3t-pw' sslpassword=k3y-pw")
        #expect(url["password"] == "s3cr3t-pw")
        for text in [url.description, pairs.description] {
            #expect(!text.contains("s3cr3t"), "\(text)")
            #expect(!text.contains("k3y-pw"), "\(text)")
            #expect(text.contains("host=db.example"))
        }
    }

    @Test func anUnknownKeyIsRefusedSayingWhy() throws {
        let error = try #require(throws: StorageError.self) { try PGConnectionString("host=db colour=blue") }
        #expect(error.code == .invalidValue)
        #expect(error.message.contains("invalid PostgreSQL connection string"))
        #expect(error.message.contains("invalid connection option"), "\(error.message)")
    }

    @Test func aMalformedURLIsRefusedWithoutEchoingThePassword() throws {
        let error = try #require(throws: StorageError.self) {
            try PGConnectionString("postgres://pp:s3cr3t%zz@db.example/policypush")
        }
        #expect(error.code == .invalidValue)
        #expect(!error.message.contains("s3cr3t"), "\(error.message)")
    }

    @Test func aServerThatIsNotThereFailsToConnectWithoutShowingThePassword() throws {
        // Port 1 on loopback: nothing listens there, so the refusal is immediate.
        let error = try #require(throws: StorageError.self) {
            try PGConnection("host=127.0.0.1 port=1 dbname=x user=pp password=s3cr3t-pw connect_timeout=2")
        }
        #expect(error.code == .cantOpen)
        #expect(error.message.contains("127.0.0.1"), "\(error.message)")
        #expect(!error.message.contains("s3cr3t"), "\(error.message)")
    }
}
