import type { FieldIssue } from '../errors';
import type { ActionDeclaration, ParamDeclaration } from './actionSchema';
import type { TemplateValue } from './actionTemplates';

/**
 * Checks the parameters a caller gives an action against its declared schema: known names only,
 * required ones present, types coerced from text (chat and query strings say "10"), enums, lengths
 * and ranges. Every problem is named by `params.<name>`.
 */
export type ParamCheck =
  { ok: true; values: Record<string, TemplateValue> } | { ok: false; issues: FieldIssue[] };

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

export function checkActionParams(action: ActionDeclaration, input: unknown): ParamCheck {
  if (input === undefined || input === null) input = {};
  if (typeof input !== 'object' || Array.isArray(input)) {
    return { ok: false, issues: [{ path: 'params', message: 'must be an object' }] };
  }
  const issues: FieldIssue[] = [];
  const values: Record<string, TemplateValue> = {};
  const given = input as Record<string, unknown>;
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(action.params, name)) {
      issues.push({ path: `params.${name}`, message: 'is not a parameter of this action' });
    }
  }
  for (const [name, declaration] of Object.entries(action.params)) {
    const raw = given[name];
    if (raw === undefined || raw === null || raw === '') {
      if (declaration.default !== undefined) values[name] = declaration.default;
      else if (declaration.required) issues.push({ path: `params.${name}`, message: 'is required' });
      continue;
    }
    const checked = checkValue(declaration, raw);
    if (typeof checked === 'object') issues.push({ path: `params.${name}`, message: checked.problem });
    else values[name] = checked;
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, values };
}

function checkValue(declaration: ParamDeclaration, raw: unknown): TemplateValue | { problem: string } {
  switch (declaration.type) {
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === 'yes') return true;
      if (raw === 'false' || raw === 'no') return false;
      return { problem: 'must be true or false' };
    }
    case 'integer':
    case 'number': {
      const value = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw.trim()) : NaN;
      if (!Number.isFinite(value)) return { problem: 'must be a number' };
      if (declaration.type === 'integer' && !Number.isInteger(value))
        return { problem: 'must be a whole number' };
      if (declaration.minimum !== undefined && value < declaration.minimum) {
        return { problem: `must be at least ${declaration.minimum}` };
      }
      if (declaration.maximum !== undefined && value > declaration.maximum) {
        return { problem: `must be at most ${declaration.maximum}` };
      }
      return value;
    }
    case 'string': {
      if (typeof raw !== 'string' && typeof raw !== 'number') return { problem: 'must be text' };
      const value = String(raw).trim();
      if (value.length === 0) return { problem: 'must not be empty' };
      if (value.length > declaration.maxLength) {
        return { problem: `must be at most ${declaration.maxLength} characters` };
      }
      // Control characters have no business in an API parameter and would corrupt logs and cards.
      if (/[\u0000-\u001f\u007f]/.test(value)) return { problem: 'must not contain control characters' };
      if (declaration.enum && !declaration.enum.includes(value)) {
        return { problem: `must be one of ${declaration.enum.join(', ')}` };
      }
      if (declaration.format === 'email' && !EMAIL.test(value))
        return { problem: 'must be an email address' };
      return value;
    }
  }
}
