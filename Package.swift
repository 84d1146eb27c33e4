// swift-tools-version:6.1
// Chat Gateway: a plugin-based realtime chat gateway.
//
// Flow of an event, and the module that owns each step:
//   ingress: parse, authenticate         GatewayServer/Ingress (HTTP, WebSocket, Redis)
//   → EventPipeline: id → normalize →    GatewayCore/Pipeline, GatewayCore/Event
//     attachments → targets (plugins)    GatewayCore/Chain + the plugins in Plugins/
//     [rooms → members; countdown: held]  GatewayServer/Rooms, GatewayServer/Offline, GatewayStore
//   → engine: record + deliver           GatewayCore/Engine (the EventEngine seam),
//                                        GatewayEngine (MemoryEngine; RedisEventEngine: several nodes),
//                                        GatewayStore (SQLite), GatewayRedis (hiredis connections)
//   → this node's connections            GatewayServer/Delivery (FanOut, LoopShard, ClientConnection)
//   → what each recipient gets           GatewayCore/Routing/RecipientView (filter plugins)
//   → owed later (messengers)            GatewayCore/Pipeline/LaterDelivery → GatewayServer/Offline
// GatewayCore knows no sockets; of the gateway's modules only GatewayServer (clients) and
// GatewayRedis (Redis, on threads of its own) do. GatewayChatClient is the WebSocket client of
// the terminal chat and the tests. Every target compiles in Swift 6 language mode.
import PackageDescription

let package = Package(
    name: "ChatGateway",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "gateway", targets: ["gateway"]),
        .executable(name: "gateway-bench", targets: ["gateway-bench"]),
        // The Swift SDK for plugins in other packages: `.product(name: "GatewayPlugin", package: "ChatGateway")`.
        .library(name: "GatewayPlugin", targets: ["GatewayPlugin"]),
        // The bundled handler plugins: each is a shared object loaded with dlopen.
        .library(name: "CategoryTargets", type: .dynamic, targets: ["CategoryTargets"]),
        .library(name: "MessageTypeFilter", type: .dynamic, targets: ["MessageTypeFilter"]),
        .library(name: "AttachmentValidator", type: .dynamic, targets: ["AttachmentValidator"]),
        .library(name: "Thumbnailer", type: .dynamic, targets: ["Thumbnailer"]),
        .library(name: "ConsoleAudit", type: .dynamic, targets: ["ConsoleAudit"]),
        // Messengers (ABI 1.2): offline delivery by mail, webhook, Telegram.
        .library(name: "SMTPMessenger", type: .dynamic, targets: ["SMTPMessenger"]),
        .library(name: "WebhookMessenger", type: .dynamic, targets: ["WebhookMessenger"]),
        .library(name: "TelegramMessenger", type: .dynamic, targets: ["TelegramMessenger"]),
        // ABI 1.3: chat_api's scripted flows and surveys (publish guard, responder, query).
        .library(name: "ScriptedFlows", type: .dynamic, targets: ["ScriptedFlows"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/vapor/multipart-kit.git", from: "4.7.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        // TLS for HTTPS and wss on the listening port (NIOSSLServerHandler; BoringSSL inside).
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // MARK: System libraries (Debian -dev packages; .ci/run installs them)
        .systemLibrary(name: "CJansson", pkgConfig: "jansson", providers: [.apt(["libjansson-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        // <sys/epoll.h> (libc), for gateway-bench's attackers.
        .systemLibrary(name: "CEpoll"),

        // MARK: The plugin ABI (C header) and the Swift SDK for plugin authors
        .target(name: "CGatewayPlugin", dependencies: ["CJansson"]),
        // The compact JSON writer behind JSON.encoded() (json_dumpb's output, a fifth of its cost).
        .target(name: "CJSONDump", dependencies: ["CJansson"]),
        // The parser behind JSON.parse (jansson's values, json_loadb's result, a third of its cost).
        .target(name: "CJSONLoad", dependencies: ["CJansson"]),
        .target(name: "GatewayJSON", dependencies: ["CJansson", "CJSONDump", "CJSONLoad"]),
        .target(name: "GatewayToolchain"),
        .target(name: "GatewayPlugin", dependencies: ["CGatewayPlugin", "CJansson", "GatewayJSON", "GatewayToolchain"]),

        // MARK: The core: no sockets. Events, config, plugin host and chain, routing.
        .target(
            name: "GatewayCore",
            dependencies: [
                "CGatewayPlugin", "CJansson", "GatewayJSON", "GatewayToolchain",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Atomics", package: "swift-atomics"),
            ]
        ),
        .target(name: "GatewayAuth", dependencies: ["COpenSSL", "CJansson", "GatewayJSON"]),
        // One bounded HTTP(S) GET through libcurl (the site's context service, [auth] context_url).
        .target(name: "CHTTPFetch", linkerSettings: [.linkedLibrary("curl")]),
        .target(
            name: "GatewayStore",
            dependencies: ["CSQLite", "COpenSSL", "GatewayJSON", .product(name: "Logging", package: "swift-log")]
        ),

        // MARK: Redis: a hiredis client (connections on threads of their own, never on event loops)
        .target(
            name: "GatewayRedis",
            dependencies: ["CHiredis", "GatewayCore", .product(name: "Logging", package: "swift-log")]
        ),

        // MARK: Engines: what records and delivers events (memory: one node, SQLite history;
        // redis: several nodes on one Redis)
        .target(
            name: "GatewayEngine",
            dependencies: [
                "GatewayCore", "GatewayStore", "GatewayRedis", "GatewayJSON", "COpenSSL",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),

        // The chat page and the admin console: plain HTML/CSS/JS files embedded into the binary.
        .target(name: "GatewayWeb", resources: [.embedInCode("Assets")]),

        // MARK: Transport: SwiftNIO HTTP + WebSocket, Redis ingress
        .target(
            name: "GatewayServer",
            dependencies: [
                "GatewayCore", "GatewayEngine", "GatewayRedis", "GatewayAuth", "GatewayStore", "GatewayJSON", "GatewayWeb",
                "CJansson", "CHTTPFetch",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "MultipartKit", package: "multipart-kit"),
            ]
        ),

        // A WebSocket client for the gateway's protocol: the terminal chat and the tests use it.
        .target(
            name: "GatewayChatClient",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),

        // MARK: Executables
        .executableTarget(
            name: "gateway",
            dependencies: [
                "GatewayServer", "GatewayCore", "GatewayRedis", "GatewayAuth", "GatewayStore", "GatewayJSON", "CJansson",
                "GatewayChatClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "gateway-bench",
            dependencies: [
                "COpenSSL",
                "CEpoll",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),

        // MARK: Bundled plugins (Plugins/), each built as its own shared object
        .target(name: "CategoryTargets", dependencies: ["GatewayPlugin"], path: "Plugins/CategoryTargets", exclude: ["README.md"]),
        .target(name: "MessageTypeFilter", dependencies: ["GatewayPlugin"], path: "Plugins/MessageTypeFilter", exclude: ["README.md"]),
        .target(name: "AttachmentValidator", dependencies: ["GatewayPlugin"], path: "Plugins/AttachmentValidator", exclude: ["README.md"]),
        .target(
            name: "Thumbnailer", dependencies: ["CGatewayPlugin"], path: "Plugins/Thumbnailer", exclude: ["README.md"],
            linkerSettings: [.linkedLibrary("gd")]
        ),
        .target(name: "ConsoleAudit", dependencies: ["CGatewayPlugin"], path: "Plugins/ConsoleAudit", exclude: ["README.md"]),
        // libcurl (Debian libcurl4-openssl-dev): SMTP with STARTTLS and AUTH, HTTPS; linked into each messenger.
        .target(name: "MessengerSupport", dependencies: ["CGatewayPlugin"], path: "Plugins/MessengerSupport",
                linkerSettings: [.linkedLibrary("curl")]),
        .target(name: "SMTPMessenger", dependencies: ["MessengerSupport"], path: "Plugins/SMTPMessenger",
                exclude: ["README.md"], linkerSettings: [.linkedLibrary("crypto")]),
        .target(name: "WebhookMessenger", dependencies: ["MessengerSupport"], path: "Plugins/WebhookMessenger",
                exclude: ["README.md"], linkerSettings: [.linkedLibrary("crypto")]),
        .target(name: "TelegramMessenger", dependencies: ["MessengerSupport"], path: "Plugins/TelegramMessenger",
                exclude: ["README.md"]),
        .target(name: "ScriptedFlows", dependencies: ["GatewayPlugin"], path: "Plugins/ScriptedFlows",
                exclude: ["README.md", "examples"]),

        // MARK: Tests
        .testTarget(name: "GatewayCoreTests", dependencies: [
            "GatewayCore", "GatewayJSON", "CJansson", "CJSONLoad", .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        .testTarget(name: "PluginHostTests", dependencies: ["GatewayCore", "GatewayJSON", "CJansson"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "SwiftPluginTests", dependencies: ["CGatewayPlugin", "CJansson", "GatewayJSON"]),
        .testTarget(name: "CPluginTests", dependencies: ["CGatewayPlugin", "CJansson", "GatewayJSON"]),
        .testTarget(name: "GatewayAuthTests", dependencies: ["GatewayAuth", "GatewayJSON"]),
        .testTarget(name: "GatewayChatClientTests", dependencies: [
            "GatewayChatClient",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
        ]),
        .testTarget(name: "GatewayEngineTests", dependencies: ["GatewayEngine", "GatewayRedis", "GatewayCore", "GatewayJSON"]),
        .testTarget(name: "GatewayStoreTests", dependencies: ["GatewayStore", "GatewayJSON"]),
        // The browser pages in headless Chromium (Playwright for Python) against the real binary.
        .testTarget(name: "BrowserTests", dependencies: ["GatewayAuth", "GatewayCore"],
                    exclude: ["browser_scenarios.py"]),
        .testTarget(
            name: "GatewayServerTests",
            dependencies: [
                "GatewayServer", "GatewayCore", "GatewayRedis", "GatewayAuth", "GatewayJSON", "GatewayChatClient", "GatewayStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            exclude: ["Offline/record_server.py", "Pyams/context_server.py", "Pyams/pyams_end_to_end.py"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// MARK: Fuzzing (Fuzz/, scripts/fuzz.sh): libFuzzer targets, one executable per parser. They exist
// only when GATEWAY_FUZZ=1 (scripts/fuzz.sh sets it and builds them with libFuzzer and
// AddressSanitizer into .build-fuzz), so the normal build and the tests never compile or link
// them. They reach internal code with `@testable import`: fuzz builds are debug builds.
if Context.environment["GATEWAY_FUZZ"] == "1" {
    func fuzzTarget(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
        .executableTarget(name: name, dependencies: dependencies, path: "Fuzz/Targets/\(name)")
    }
    package.targets += [
        fuzzTarget("FuzzConfig", ["GatewayCore"]),
        fuzzTarget("FuzzEventNormalizer", ["GatewayCore", "GatewayJSON", "CJansson", .product(name: "Atomics", package: "swift-atomics")]),
        fuzzTarget("FuzzJWT", ["GatewayAuth", "GatewayJSON"]),
        fuzzTarget("FuzzWebSocketFrames", [
            "GatewayServer", "GatewayCore", "GatewayAuth", "GatewayStore", "GatewayJSON",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Atomics", package: "swift-atomics"),
        ]),
        fuzzTarget("FuzzMultipart", ["GatewayServer", "GatewayCore", .product(name: "NIOCore", package: "swift-nio")]),
    ]
}
