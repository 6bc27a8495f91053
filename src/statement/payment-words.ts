import { euros, frenchDate } from './format.js';
import { waitingText, type LinePayment, type PaidTo } from './payment.js';

/**
 * A line's payment in the member's words, shared by the text and HTML statements: to whom
 * ("vous", or the professional in tiers payant), how much and on which date, and what waits and why.
 */
const professional = (to: { psId: string; name?: string }) => (to.name ? `professionnel de santé ${to.name} (n° ${to.psId}, tiers payant)` : `professionnel de santé n° ${to.psId} (tiers payant)`);
const toWhom = (to: PaidTo) => (to.kind === 'member' ? 'sur votre compte' : `au ${professional(to)}`);
const forWhom = (to: PaidTo) => (to.kind === 'member' ? 'pour vous' : `pour le ${professional(to)}`);

export function paidWords(payment: LinePayment, space = ' '): string[] {
  return payment.paid.map((p) => {
    const amount = euros(p.amount.replace(/^-/, ''), space);
    const verb = p.amount.startsWith('-') ? `${amount} ${p.to.kind === 'member' ? 'repris sur vos remboursements' : `repris au professionnel de santé n° ${p.to.psId}`}` : `${amount} versés ${toWhom(p.to)}`;
    if (p.byOperator) return `${verb}, réglé par l’organisme de tiers payant`;
    return p.on === null ? verb : `${verb}, virement du ${frenchDate(p.on)}`;
  });
}

export function waitingWords(payment: LinePayment, space = ' '): string[] {
  return payment.waiting.map((w) => `en attente ${euros(w.amount, space)} ${forWhom(w.to)} : ${waitingText(w)}`);
}
