"""The consumer runtime shared by the four ``*_sync`` services (see ``_integration`` for the contract)."""

from lovia_billing.consumer._integration import Handler, HandlerContext, IntegrationApp

__all__ = ["Handler", "HandlerContext", "IntegrationApp"]
