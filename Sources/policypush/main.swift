import Foundation

exit(await Main.run(Array(CommandLine.arguments.dropFirst())))
