// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "PolicyPush",
    products: [
        .executable(name: "policypush", targets: ["policypush"])
    ],
    targets: [
        // C shims: typed wrappers around the system libraries (Debian -dev packages).
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd", providers: [.apt(["libmicrohttpd-dev"])]),
        .systemLibrary(name: "CPostgreSQL", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),

        // Small shared pieces with no dependencies: JSON values, the one JSON string escaper, the JSON5 position
        // scanner (line and column of values, keys and syntax errors), Duration in seconds, SplitMix64.
        .target(name: "Kit", swiftSettings: strict),

        // Transport-free logic.
        .target(name: "Registry", dependencies: ["Kit"], swiftSettings: strict),
        .target(name: "Rules", dependencies: ["Kit", "Registry"], swiftSettings: strict),
        .target(name: "Messaging", dependencies: ["Kit", "Registry", "Rules"], swiftSettings: strict),
        // The package page an enterprise opens from its link: pure HTML rendering.
        .target(name: "Landing", dependencies: ["Kit", "Registry", "Rules"], swiftSettings: strict),

        // The campaign report as one self-contained HTML page with SVG charts drawn here: pure rendering.
        .target(name: "Report", dependencies: ["Kit"], swiftSettings: strict),

        // I/O behind it.
        .target(name: "Storage", dependencies: ["Kit", "Registry", "CSQLite", "CPostgreSQL"], swiftSettings: strict),
        .target(
            name: "Delivery", dependencies: ["Kit", "COpenSSL", "CCurl", "HTTPServer"], exclude: ["Gateways.md"],
            swiftSettings: strict),
        .target(name: "GatewayStub", dependencies: ["Kit", "Delivery", "HTTPServer"], swiftSettings: strict),
        // A small HTTP/1.1 server for stub gateways and the receipts listener.
        .target(name: "HTTPServer", dependencies: ["CMicroHTTPD"], swiftSettings: strict),

        // The application, by role.
        // Logs, metrics, sd_notify, signals and the service group: no domain imports.
        .target(name: "Ops", dependencies: ["Kit"], swiftSettings: strict),
        // The configuration file, every settings type, secrets, and the factory of gateway adapters.
        .target(name: "Config", dependencies: ["Kit", "Registry", "Delivery"], swiftSettings: strict),
        // Shards, preview, the message payload and the campaign planner.
        .target(
            name: "Planning", dependencies: ["Kit", "Config", "Registry", "Rules", "Messaging", "Storage", "Delivery"],
            swiftSettings: strict),
        // `policypush serve`: supervision, the outbox dispatcher, reconciliation, the delivery service.
        .target(
            name: "Daemon",
            dependencies: [
                "Config", "Planning", "Ops", "Kit", "Registry", "Rules", "Messaging", "Landing", "Storage", "Delivery",
                "HTTPServer",
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "policypush",
            dependencies: [
                "Config", "Planning", "Daemon", "Ops", "Kit", "Registry", "Rules", "Messaging", "Landing", "Report",
                "Storage", "Delivery", "GatewayStub",
            ],
            swiftSettings: strict
        ),

        // Test support: headless Chromium (screenshots, console messages, requests) for browser tests.
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: strict),

        .testTarget(name: "KitTests", dependencies: ["Kit"], swiftSettings: strict),
        .testTarget(name: "RegistryTests", dependencies: ["Registry"], swiftSettings: strict),
        .testTarget(name: "RulesTests", dependencies: ["Kit", "Rules", "Registry"], swiftSettings: strict),
        .testTarget(name: "MessagingTests", dependencies: ["Messaging", "Rules", "Registry"], swiftSettings: strict),
        .testTarget(
            name: "LandingTests", dependencies: ["Landing", "Rules", "Registry", "HTTPServer", "TestSupport"],
            swiftSettings: strict),
        .testTarget(name: "ReportTests", dependencies: ["Report", "Kit"], swiftSettings: strict),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "Registry"], swiftSettings: strict),
        // Needs a PostgreSQL server: scripts/test starts a private cluster (scripts/pg-cluster).
        .testTarget(name: "PostgresTests", dependencies: ["Storage"], swiftSettings: strict),
        .testTarget(name: "DeliveryTests", dependencies: ["Kit", "Delivery", "HTTPServer"], swiftSettings: strict),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer"], swiftSettings: strict),
        .testTarget(
            name: "GatewayStubTests", dependencies: ["Kit", "GatewayStub", "Delivery", "HTTPServer"],
            swiftSettings: strict),
        .testTarget(name: "OpsTests", dependencies: ["Ops"], swiftSettings: strict),
        .testTarget(name: "ConfigTests", dependencies: ["Config", "Delivery", "Registry"], swiftSettings: strict),
        .testTarget(
            name: "PlanningTests",
            dependencies: ["Planning", "Config", "Registry", "Rules", "Messaging", "Storage"], swiftSettings: strict),
        .testTarget(
            name: "DaemonTests",
            dependencies: [
                "Daemon", "Config", "Planning", "Kit", "Registry", "Rules", "Messaging", "Ops", "Storage", "Delivery",
                "GatewayStub", "HTTPServer", "TestSupport",
            ],
            swiftSettings: strict),
        .testTarget(
            name: "CLITests",
            dependencies: [
                "Kit", "policypush", "Config", "Daemon", "Planning", "Report", "Storage", "Registry", "TestSupport",
                "GatewayStub",
            ],
            swiftSettings: strict),
    ]
)
