export { alertEvent, alertId, BUDGET_ALERT_TYPE } from './alert-event.js';
export { AlertState, type FiredAlert } from './alert-state.js';
export { BudgetAlerts, type BudgetAlertsOptions, type CheckResult } from './budget-alerts.js';
export { type BudgetCrossing, type BudgetStatus, budgetStatus, crossingKey, newCrossings } from './budget-check.js';
export { type AlertsConfig, alertsConfigSchema } from './config.js';
export { alertsFactory } from './factory.js';
