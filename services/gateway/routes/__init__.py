"""HTTP routes by area; GatewayService combines them (each class holds only route handlers)."""
