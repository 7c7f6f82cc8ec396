/**
 * The dataset's parameters as form fields: enums as selects, dates as date inputs, numbers as
 * number inputs, required marks, and the API's `invalid_params` message beside its field.
 */
import type { ParamDescription } from './api.js';
import { withLabel } from './messages.js';

type ParamInput = HTMLInputElement | HTMLSelectElement;

interface Field {
  spec: ParamDescription;
  input: ParamInput;
  error: HTMLElement;
}

function option(value: string, text: string): HTMLOptionElement {
  const element = document.createElement('option');
  element.value = value;
  element.textContent = text;
  return element;
}

function inputFor(spec: ParamDescription): ParamInput {
  if (spec.enum || spec.type === 'boolean') {
    const select = document.createElement('select');
    if (!spec.required) select.append(option('', 'Any'));
    const values = spec.enum ?? [true, false];
    for (const value of values)
      select.append(option(String(value), value === true ? 'Yes' : value === false ? 'No' : String(value)));
    if (spec.default !== undefined) select.value = String(spec.default);
    return select;
  }
  const input = document.createElement('input');
  switch (spec.type) {
    case 'integer':
    case 'number':
      input.type = 'number';
      input.inputMode = spec.type === 'integer' ? 'numeric' : 'decimal';
      input.step = spec.type === 'integer' ? '1' : 'any';
      break;
    case 'date':
      input.type = 'date';
      break;
    case 'datetime':
      input.type = 'datetime-local';
      break;
    default:
      input.type = 'text';
      if (spec.maxLength) input.maxLength = spec.maxLength;
  }
  if (spec.min !== undefined)
    input.min = String(spec.min).slice(0, spec.type === 'datetime' ? 16 : undefined);
  if (spec.max !== undefined)
    input.max = String(spec.max).slice(0, spec.type === 'datetime' ? 16 : undefined);
  if (spec.default !== undefined && spec.default !== null) input.value = String(spec.default);
  return input;
}

/** A parameter name as people read it: `min_amount` → "Min amount". */
function labelText(name: string): string {
  const words = name.replace(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export class ParamsForm {
  private fields = new Map<string, Field>();

  constructor(private readonly container: HTMLElement) {}

  render(params: readonly ParamDescription[]): void {
    this.container.replaceChildren();
    this.fields.clear();
    params.forEach((spec, index) => {
      const id = `param-${index}`;
      const wrapper = document.createElement('div');
      wrapper.className = 'field';
      const label = document.createElement('label');
      label.htmlFor = id;
      label.textContent = labelText(spec.name);
      if (spec.required) {
        const mark = document.createElement('span');
        mark.className = 'required-mark';
        mark.setAttribute('aria-hidden', 'true');
        mark.textContent = '*';
        label.append(mark);
      }
      const input = inputFor(spec);
      input.id = id;
      input.name = spec.name;
      input.required = spec.required === true;
      const described: string[] = [];
      wrapper.append(label, input);
      if (spec.description) {
        const hint = document.createElement('p');
        hint.className = 'hint';
        hint.id = `${id}-hint`;
        hint.textContent = spec.description;
        wrapper.append(hint);
        described.push(hint.id);
      }
      const error = document.createElement('p');
      error.className = 'field-error';
      error.id = `${id}-error`;
      error.hidden = true;
      wrapper.append(error);
      described.push(error.id);
      input.setAttribute('aria-describedby', described.join(' '));
      this.container.append(wrapper);
      this.fields.set(spec.name, { spec, input, error });
    });
  }

  /** The label of the parameter's field; undefined when there is no such field. */
  label(param: string): string | undefined {
    return this.fields.has(param) ? labelText(param) : undefined;
  }

  get empty(): boolean {
    return this.fields.size === 0;
  }

  /**
   * Marks a field the browser could not read (`12e` in a number field, half a date): its
   * value reads as empty, and an export without that filter would ignore what was typed.
   * A required field left empty is marked too. The first such field is focused; the message
   * (with the field's name, for a screen reader to announce), or undefined when all is well.
   */
  checkInputs(): string | undefined {
    for (const [name, { spec, input }] of this.fields) {
      const label = labelText(name);
      if (input instanceof HTMLInputElement && input.validity.badInput) {
        const what = spec.type === 'date' || spec.type === 'datetime' ? 'a complete date' : 'a number';
        const message = spec.required ? `Enter ${what}.` : `Enter ${what}, or leave the field empty.`;
        this.showError(name, message);
        return `${label}: ${message}`;
      }
      if (spec.required && input.value.trim() === '') {
        this.showError(name, 'This field is required.');
        return `${label} is required.`;
      }
    }
    return undefined;
  }

  /** The filled-in parameters, typed as the API expects them; empty fields are left out. */
  values(): Record<string, string | number | boolean> {
    const values: Record<string, string | number | boolean> = {};
    for (const [name, { spec, input }] of this.fields) {
      const raw = input.value.trim();
      if (raw === '') continue;
      if (spec.type === 'boolean') values[name] = raw === 'true';
      else if (spec.type === 'integer' || spec.type === 'number') values[name] = Number(raw);
      else if (spec.type === 'datetime') {
        const date = new Date(raw); // datetime-local: the browser's own zone
        values[name] = Number.isNaN(date.getTime()) ? raw : date.toISOString();
      } else if (spec.enum && typeof spec.enum[0] === 'number') values[name] = Number(raw);
      else values[name] = raw;
    }
    return values;
  }

  /**
   * Shows `message` beside the parameter's field and focuses it; false when there is no such
   * field. The parameter is named as its label does (withLabel).
   */
  showError(param: string, message: string): boolean {
    const field = this.fields.get(param);
    if (!field) return false;
    field.error.textContent = withLabel(message, param, labelText(param));
    field.error.hidden = false;
    field.input.setAttribute('aria-invalid', 'true');
    field.input.focus();
    return true;
  }

  clearErrors(): void {
    for (const { input, error } of this.fields.values()) {
      error.hidden = true;
      error.textContent = '';
      input.removeAttribute('aria-invalid');
    }
  }
}
