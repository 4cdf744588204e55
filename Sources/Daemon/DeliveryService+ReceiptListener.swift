import Config
import Delivery
import Foundation
import Kit
import Ops
import Planning

extension DeliveryService {
    /// The receipts listener's configuration for every gateway that pushes receipts.
    ///
    /// - Throws: `ConfigurationError` when a receipt token cannot be read.
    public static func receiptListenerConfiguration(
        _ configuration: Configuration, environment: [String: String]
    ) throws -> ReceiptListener.Configuration {
        var gateways: [String: ReceiptListener.Gateway] = [:]
        for g in configuration.gateways {
            guard let token = try g.receiptToken?.secret(for: "gateways.\(g.name).receipts", environment: environment)
            else {
                continue
            }
            let kind: GatewayKind
            switch g.kind {
            case .aliyun: kind = .aliyun
            case .tencent: kind = .tencent
            case .wechat: kind = .wechat
            case .generic: kind = .generic
            }
            gateways[g.name] = .init(
                kind: kind, authentication: kind == .wechat ? .wechatSignature(token: token) : .pathToken(token))
        }
        let listen = configuration.receiptsListen ?? ("127.0.0.1", 0)
        let result = ReceiptListener.Configuration(
            server: .init(
                host: listen.host, port: listen.port, connectionLimit: configuration.receiptsMaxConnections,
                perIPConnectionLimit: configuration.receiptsPerAddressConnections,
                connectionTimeout: configuration.receiptsIdleTimeoutSeconds),
            gateways: gateways)
        do {
            try result.validate()
        } catch {
            throw ConfigurationError(file: configuration.file ?? "(defaults)", problems: ["receipts: \(error)"])
        }
        return result
    }
}
